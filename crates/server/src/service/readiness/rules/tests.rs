//! Each rule kind on constructed evidence: met, not met, partly met, and not applicable.

use super::*;
use crate::service::inspections::OccurrenceStatus;
use sync_core::flags::codes;

const DAY: i64 = 86_400_000;

fn window() -> Window {
    Window::new(
        NaiveDate::from_ymd_opt(2025, 12, 1).unwrap(),
        NaiveDate::from_ymd_opt(2026, 11, 30).unwrap(),
        time::default_zone(),
    )
    .unwrap()
}

/// Noon in Alberta on `date` (`YYYY-MM-DD`).
fn at(date: &str) -> i64 {
    let day = NaiveDate::parse_from_str(date, "%Y-%m-%d").unwrap();
    time::day_start_ms(day, time::default_zone()).unwrap() + 12 * 3_600_000
}

fn evidence() -> Evidence {
    let mut ev = Evidence::empty(window(), at("2026-11-30"));
    ev.people = vec![
        person("boss", "Pat Owner", Role::Admin),
        person("w1", "Ann Worker", Role::Worker),
        person("w2", "Bo Worker", Role::Worker),
        person("sup", "Sam Super", Role::Supervisor),
    ];
    ev.sites = vec![site("a", "North pad"), site("b", "South pad"), site("c", "Yard")];
    ev
}

fn person(id: &str, name: &str, role: Role) -> PersonEv {
    PersonEv {
        id: id.into(),
        name: name.into(),
        role,
        disabled: false,
    }
}

fn site(id: &str, name: &str) -> SiteEv {
    SiteEv {
        id: id.into(),
        name: name.into(),
        zone: time::default_zone(),
    }
}

fn share(outcome: &Outcome) -> (u32, u32) {
    match outcome.measure {
        Measure::Share { met, of } => (met, of),
        Measure::NotApplicable => panic!("not applicable: {}", outcome.summary),
    }
}

fn run(rule: &Rule, ev: &Evidence) -> Outcome {
    evaluate(rule, ev).expect("an estimated rule")
}

fn hrefs(outcome: &Outcome) -> Vec<String> {
    outcome
        .gap
        .as_ref()
        .map(|g| g.links.iter().map(|l| l.href.clone()).collect())
        .unwrap_or_default()
}

fn record(id: &str, kind: &str, site: &str, created: i64) -> RecordEv {
    RecordEv {
        id: id.into(),
        kind: kind.into(),
        site_id: site.into(),
        status: "completed".into(),
        title: id.into(),
        created_ms: created,
        completed_ms: Some(created),
        flags: Vec::new(),
    }
}

// --- S1 ---

fn policy(signed: &str, by: &str, covers: &[&str]) -> PolicyEv {
    PolicyEv {
        id: "pol".into(),
        title: "Health and safety policy".into(),
        signed: true,
        last_signed_ms: Some(at(signed)),
        last_signer: Some(by.into()),
        covers: covers.iter().map(|c| (*c).to_owned()).collect(),
    }
}

#[test]
fn policy_current_needs_an_active_manager_within_twelve_months() {
    let rule = Rule::PolicyCurrent { max_age_months: 12 };
    let mut ev = evidence();
    let none = run(&rule, &ev);
    assert_eq!(share(&none), (0, 1));
    assert_eq!(hrefs(&none), ["/policy"]);

    ev.policies = vec![policy("2026-03-01", "boss", &[])];
    let good = run(&rule, &ev);
    assert_eq!(share(&good), (1, 1));
    assert!(good.gap.is_none());
    assert_eq!(good.evidence[0].href, "/records/pol");

    // Signed by a supervisor, or by a manager since disabled: not current.
    ev.policies = vec![policy("2026-03-01", "sup", &[])];
    assert_eq!(share(&run(&rule, &ev)), (0, 1));
    ev.policies = vec![policy("2026-03-01", "boss", &[])];
    ev.people[0].disabled = true;
    let gone = run(&rule, &ev);
    assert_eq!(share(&gone), (0, 1));
    assert!(gone.gap.unwrap().sentence.contains("not an active manager"));
    ev.people[0].disabled = false;

    // Last signed more than 12 months before the window's end.
    ev.policies = vec![policy("2025-11-15", "boss", &[])];
    let old = run(&rule, &ev);
    assert_eq!(share(&old), (0, 1));
    assert!(old.gap.unwrap().sentence.contains("more than 12 months"));
    // A review after the window's end does not count for it.
    ev.policies = vec![policy("2026-12-05", "boss", &[])];
    assert_eq!(share(&run(&rule, &ev)), (0, 1));
}

#[test]
fn policy_covers_counts_the_four_topics() {
    let mut ev = evidence();
    assert_eq!(share(&run(&Rule::PolicyCovers, &ev)), (0, 4));
    ev.policies = vec![policy("2026-03-01", "boss", POLICY_TOPICS)];
    let all = run(&Rule::PolicyCovers, &ev);
    assert_eq!(share(&all), (4, 4));
    assert!(all.gap.is_none());
    ev.policies = vec![policy(
        "2026-03-01",
        "boss",
        &["commitment_and_goals", "legal_compliance"],
    )];
    let half = run(&Rule::PolicyCovers, &ev);
    assert_eq!(share(&half), (2, 4));
    assert!(
        half.gap
            .unwrap()
            .sentence
            .contains("worker wellbeing physical psychological")
    );
    // With no topics to cover there is nothing to judge.
    ev.policy_topics.clear();
    assert_eq!(run(&Rule::PolicyCovers, &ev).measure, Measure::NotApplicable);
}

fn meeting(id: &str, held: &str, safety: bool) -> MeetingEv {
    MeetingEv {
        id: id.into(),
        title: id.into(),
        held_ms: Some(at(held)),
        safety_item: safety,
    }
}

#[test]
fn management_review_counts_quarters_with_a_safety_item() {
    let mut ev = evidence();
    assert_eq!(window().quarters().len(), 4);
    // A window starting on the 30th keeps four quarters, none drifting through February.
    let w = Window::new(
        NaiveDate::from_ymd_opt(2025, 11, 30).unwrap(),
        NaiveDate::from_ymd_opt(2026, 11, 29).unwrap(),
        time::default_zone(),
    )
    .unwrap();
    let starts: Vec<String> = w.quarters().iter().map(|q| q.0.to_string()).collect();
    assert_eq!(starts, ["2025-11-30", "2026-02-28", "2026-05-30", "2026-08-30"]);
    assert_eq!(w.quarters()[3].1.to_string(), "2026-11-29");
    let none = run(&Rule::ManagementReview, &ev);
    assert_eq!(share(&none), (0, 4));
    assert_eq!(hrefs(&none), ["/meetings"]);
    ev.meetings = vec![
        meeting("m1", "2025-12-10", true),
        meeting("m2", "2026-04-10", true),
        // No safety item: does not count.
        meeting("m3", "2026-07-10", false),
        // Before the window.
        meeting("m4", "2025-10-10", true),
    ];
    let half = run(&Rule::ManagementReview, &ev);
    assert_eq!(share(&half), (2, 4));
    let sentence = half.gap.unwrap().sentence;
    assert!(sentence.contains("2026-06-01 to 2026-08-31"), "{sentence}");
    ev.meetings.push(meeting("m5", "2026-08-31", true));
    ev.meetings.push(meeting("m6", "2026-11-30", true));
    assert_eq!(share(&run(&Rule::ManagementReview, &ev)), (4, 4));
}

#[test]
fn acknowledged_names_the_workers_without_one() {
    let rule = Rule::Acknowledged {
        subject: "right_to_refuse".into(),
    };
    let mut ev = evidence();
    let none = run(&rule, &ev);
    assert_eq!(share(&none), (0, 2));
    let gap = none.gap.unwrap();
    assert_eq!(
        gap.sentence,
        "2 of 2 active workers have not signed an acknowledgement of right to refuse: Ann Worker, Bo Worker."
    );
    assert!(gap.links.iter().any(|l| l.href == "/people#person-w1"));
    assert!(gap.links.iter().any(|l| l.href == "/policy"));
    ev.acknowledgements = vec![
        AckEv {
            id: "ack1".into(),
            subject: "right_to_refuse".into(),
            person_id: "w1".into(),
            signed_ms: Some(at("2025-06-01")),
        },
        // Another subject, and an unsigned one: neither counts.
        AckEv {
            id: "ack2".into(),
            subject: "policy".into(),
            person_id: "w2".into(),
            signed_ms: Some(at("2026-06-01")),
        },
        AckEv {
            id: "ack3".into(),
            subject: "right_to_refuse".into(),
            person_id: "w2".into(),
            signed_ms: None,
        },
    ];
    assert_eq!(share(&run(&rule, &ev)), (1, 2));
    ev.acknowledgements[2].signed_ms = Some(at("2026-06-01"));
    assert_eq!(share(&run(&rule, &ev)), (2, 2));
    // A disabled worker is not in the population; with no active workers it is not applicable.
    ev.people.retain(|p| p.role != Role::Worker);
    assert_eq!(run(&rule, &ev).measure, Measure::NotApplicable);
}

#[test]
fn refusals_closed_counts_the_windows_refusals() {
    let mut ev = evidence();
    assert_eq!(run(&Rule::RefusalsClosed, &ev).measure, Measure::NotApplicable);
    let refusal = |id: &str, when: &str, closed: bool| RefusalEv {
        id: id.into(),
        title: id.into(),
        reported_ms: Some(at(when)),
        closed,
    };
    ev.refusals = vec![
        refusal("r1", "2026-02-01", true),
        refusal("r2", "2026-05-01", false),
        refusal("r0", "2025-01-01", false),
    ];
    let partly = run(&Rule::RefusalsClosed, &ev);
    assert_eq!(share(&partly), (1, 2));
    assert_eq!(hrefs(&partly), ["/records/r2"]);
    ev.refusals[1].closed = true;
    assert_eq!(share(&run(&Rule::RefusalsClosed, &ev)), (2, 2));
}

// --- S2 ---

fn jsea(id: &str, day: &str, flags: &[&str]) -> JseaEv {
    JseaEv {
        id: id.into(),
        title: id.into(),
        site_id: "a".into(),
        created_ms: at(day) - 3_600_000,
        completed_ms: Some(at(day) - 1_800_000),
        work_started_ms: Some(at(day)),
        flags: flags.iter().map(|f| (*f).to_owned()).collect(),
        hazards: Vec::new(),
    }
}

#[test]
fn jsea_before_work_reads_the_completed_after_work_flag() {
    let mut ev = evidence();
    assert_eq!(run(&Rule::JseaBeforeWork, &ev).measure, Measure::NotApplicable);
    ev.jseas = vec![
        jsea("j1", "2026-03-02", &[]),
        jsea("j2", "2026-03-03", &[codes::COMPLETED_AFTER_WORK_STARTED]),
        jsea("j3", "2026-03-04", &[codes::APPROVED_AFTER_WORK_STARTED]),
    ];
    let mut never = jsea("j4", "2026-03-05", &[]);
    never.completed_ms = None;
    ev.jseas.push(never);
    let partly = run(&Rule::JseaBeforeWork, &ev);
    assert_eq!(share(&partly), (2, 4));
    assert_eq!(hrefs(&partly), ["/records/j2", "/records/j4"]);
    ev.jseas.retain(|j| j.id == "j1" || j.id == "j3");
    assert_eq!(share(&run(&Rule::JseaBeforeWork, &ev)), (2, 2));
    // Work started before the window: not in it.
    ev.jseas = vec![jsea("old", "2025-11-20", &[codes::COMPLETED_AFTER_WORK_STARTED])];
    assert_eq!(run(&Rule::JseaBeforeWork, &ev).measure, Measure::NotApplicable);
}

#[test]
fn approved_before_work_reads_the_approval_flags() {
    let mut ev = evidence();
    assert_eq!(
        run(&Rule::ApprovedBeforeWork, &ev).measure,
        Measure::NotApplicable
    );
    ev.jseas = vec![
        jsea("j1", "2026-03-02", &[codes::COMPLETED_AFTER_WORK_STARTED]),
        jsea("j2", "2026-03-03", &[codes::APPROVED_AFTER_WORK_STARTED]),
        jsea("j3", "2026-03-04", &[codes::WORK_STARTED_WITHOUT_APPROVAL]),
    ];
    let partly = run(&Rule::ApprovedBeforeWork, &ev);
    assert_eq!(share(&partly), (1, 3));
    assert_eq!(hrefs(&partly), ["/records/j2", "/records/j3"]);
    ev.jseas.truncate(1);
    assert_eq!(share(&run(&Rule::ApprovedBeforeWork, &ev)), (1, 1));
}

#[test]
fn controls_above_ppe_counts_hazards() {
    let mut ev = evidence();
    assert_eq!(run(&Rule::ControlsAbovePpe, &ev).measure, Measure::NotApplicable);
    let hazard = |d: &str, above_ppe: bool, justified: bool| HazardEv {
        description: d.into(),
        above_ppe,
        justified,
    };
    let mut j = jsea("j1", "2026-03-02", &[]);
    j.hazards = vec![
        hazard("Pinch points", true, false),
        hazard("Noise", false, true),
        hazard("Dust", false, false),
    ];
    ev.jseas = vec![j];
    let partly = run(&Rule::ControlsAbovePpe, &ev);
    assert_eq!(share(&partly), (2, 3));
    let gap = partly.gap.unwrap();
    assert!(gap.sentence.contains("\"Dust\""), "{}", gap.sentence);
    assert_eq!(gap.links[0].href, "/records/j1");
    ev.jseas[0].hazards.pop();
    assert_eq!(share(&run(&Rule::ControlsAbovePpe, &ev)), (2, 2));
    ev.jseas[0].hazards = vec![hazard("Dust", false, false)];
    assert_eq!(share(&run(&Rule::ControlsAbovePpe, &ev)), (0, 1));
}

// --- S3 ---

fn sign_on(person: &str, site: &str, record: &str, when: i64) -> SignOnEv {
    SignOnEv {
        person_id: person.into(),
        site_id: site.into(),
        record_id: record.into(),
        signed_ms: when,
    }
}

fn orientation(person: &str, site: &str, when: i64) -> OrientationEv {
    OrientationEv {
        id: format!("or-{person}-{site}"),
        person_id: person.into(),
        site_id: site.into(),
        signed_ms: when,
    }
}

#[test]
fn oriented_before_work_compares_each_persons_first_day_at_each_site() {
    let mut ev = evidence();
    assert_eq!(
        run(&Rule::OrientedBeforeWork, &ev).measure,
        Measure::NotApplicable
    );
    let monday = at("2026-03-02");
    ev.sign_ons = vec![
        sign_on("w1", "a", "j1", monday),
        sign_on("w1", "a", "j2", monday + 7 * DAY),
        sign_on("w2", "a", "j1", monday),
        sign_on("w1", "b", "t1", monday + DAY),
    ];
    ev.orientations = vec![
        // The same day, later in the morning: on the first day counts.
        orientation("w1", "a", monday + 3_600_000),
        // A day after first work: too late.
        orientation("w2", "a", monday + DAY),
        // At another site: does not count for b.
    ];
    let partly = run(&Rule::OrientedBeforeWork, &ev);
    assert_eq!(share(&partly), (1, 3));
    let gap = partly.gap.unwrap();
    assert!(
        gap.links
            .iter()
            .any(|l| l.label.starts_with("Bo Worker at North pad"))
    );
    assert!(
        gap.links
            .iter()
            .any(|l| l.label.starts_with("Ann Worker at South pad"))
    );
    ev.orientations.push(orientation("w2", "a", monday - DAY));
    ev.orientations.push(orientation("w1", "b", monday - 30 * DAY));
    let all = run(&Rule::OrientedBeforeWork, &ev);
    assert_eq!(share(&all), (3, 3));
    assert!(all.gap.is_none());
}

#[test]
fn records_without_flags_counts_records_of_the_kind_in_the_window() {
    let rule = Rule::RecordsWithoutFlags {
        record_kind: "pre_start".into(),
        codes: vec![codes::OPERATOR_NOT_COMPETENT.into()],
    };
    let mut ev = evidence();
    assert_eq!(run(&rule, &ev).measure, Measure::NotApplicable);
    let mut flagged = record("p2", "pre_start", "a", at("2026-04-01"));
    flagged.flags = vec![codes::OPERATOR_NOT_COMPETENT.into()];
    let mut other_flag = record("p3", "pre_start", "a", at("2026-04-02"));
    other_flag.flags = vec![codes::OUT_OF_SERVICE.into()];
    let mut draft = record("p4", "pre_start", "a", at("2026-04-03"));
    draft.completed_ms = None;
    ev.records = vec![
        record("p1", "pre_start", "a", at("2026-04-01")),
        flagged,
        other_flag,
        draft,
        record("j1", "jsea", "a", at("2026-04-01")),
    ];
    let partly = run(&rule, &ev);
    assert_eq!(share(&partly), (2, 3));
    assert_eq!(hrefs(&partly), ["/records/p2"]);
    assert_eq!(partly.gap.as_ref().unwrap().links[0].label, "p2, 2026-04-01");
    ev.records.remove(1);
    assert_eq!(share(&run(&rule, &ev)), (2, 2));
}

// --- S4 ---

fn occurrence(day: &str, status: OccurrenceStatus, record: Option<&str>) -> OccurrenceEv {
    OccurrenceEv {
        schedule_title: "Weekly site inspection".into(),
        site_id: "a".into(),
        starts_ms: at(day),
        status,
        record_id: record.map(str::to_owned),
    }
}

#[test]
fn inspections_on_time_counts_done_late_and_missed_not_due() {
    let mut ev = evidence();
    assert_eq!(run(&Rule::InspectionsOnTime, &ev).measure, Measure::NotApplicable);
    ev.occurrences = vec![
        occurrence("2026-01-05", OccurrenceStatus::Done, Some("i1")),
        occurrence("2026-01-12", OccurrenceStatus::Late, Some("i2")),
        occurrence("2026-01-19", OccurrenceStatus::Missed, None),
        occurrence("2026-11-30", OccurrenceStatus::Due, None),
        occurrence("2025-11-03", OccurrenceStatus::Missed, None),
    ];
    let partly = run(&Rule::InspectionsOnTime, &ev);
    assert_eq!(share(&partly), (1, 3));
    let gap = partly.gap.unwrap();
    assert!(
        gap.sentence.contains("late (1) or missed (1)"),
        "{}",
        gap.sentence
    );
    assert_eq!(gap.links[0].href, "/inspections");
    assert_eq!(gap.links[1].href, "/records/i2");
    ev.occurrences.retain(|o| o.status == OccurrenceStatus::Done);
    assert_eq!(share(&run(&Rule::InspectionsOnTime, &ev)), (1, 1));
}

fn action(id: &str, source: &str, identified: &str, due_days: i64) -> ActionEv {
    ActionEv {
        id: id.into(),
        title: id.into(),
        source_kind: Some(source.into()),
        identified_ms: at(identified),
        due_ms: Some(at(identified) + due_days * DAY),
        resolved_ms: None,
        verified_ms: None,
    }
}

#[test]
fn actions_closed_judges_by_due_date_and_leaves_out_those_not_yet_due() {
    let rule = Rule::ActionsClosed {
        sources: vec!["inspection".into(), "pre_start".into()],
        require_verification: true,
    };
    let mut ev = evidence();
    assert_eq!(run(&rule, &ev).measure, Measure::NotApplicable);
    let mut on_time = action("a1", "inspection", "2026-02-01", 7);
    on_time.resolved_ms = Some(at("2026-02-03"));
    on_time.verified_ms = Some(at("2026-02-04"));
    let mut late = action("a2", "pre_start", "2026-02-01", 2);
    late.resolved_ms = Some(at("2026-02-02"));
    late.verified_ms = Some(at("2026-02-10"));
    let overdue = action("a3", "inspection", "2026-03-01", 7);
    // Resolved on time but never verified: overdue when verification is required.
    let mut unverified = action("a4", "inspection", "2026-04-01", 7);
    unverified.resolved_ms = Some(at("2026-04-02"));
    let not_due = action("a5", "inspection", "2026-11-28", 7);
    let other_source = action("a6", "investigation", "2026-03-01", 7);
    let mut by_hand = action("a7", "", "2026-03-01", 7);
    by_hand.source_kind = None;
    ev.actions = vec![on_time, late, overdue, unverified, not_due, other_source, by_hand];
    let partly = run(&rule, &ev);
    assert_eq!(share(&partly), (1, 4));
    assert!(
        partly.summary.contains("1 open action not yet due is left out"),
        "{}",
        partly.summary
    );
    assert!(
        partly
            .summary
            .starts_with("1 of 4 corrective actions from inspections or pre-starts closed and verified"),
        "{}",
        partly.summary
    );
    let links = hrefs(&partly);
    assert_eq!(links, ["/records/a2", "/records/a3", "/records/a4", "/actions"]);
    // Without verification required, a timely resolution is enough.
    let lenient = Rule::ActionsClosed {
        sources: vec!["inspection".into(), "pre_start".into()],
        require_verification: false,
    };
    assert_eq!(share(&run(&lenient, &ev)), (3, 4));
    // An action raised by hand counts where the rule names "manual".
    let with_manual = Rule::ActionsClosed {
        sources: vec!["inspection".into(), "pre_start".into(), "manual".into()],
        require_verification: true,
    };
    assert_eq!(share(&run(&with_manual, &ev)), (1, 5));
    ev.actions.retain(|a| a.id == "a1" || a.id == "a5");
    assert_eq!(share(&run(&rule, &ev)), (1, 1));
}

#[test]
fn count_at_least_wants_n_records_in_the_window() {
    let rule = Rule::CountAtLeast {
        record_kind: "near_miss".into(),
        n: 2,
    };
    let mut ev = evidence();
    let none = run(&rule, &ev);
    assert_eq!(share(&none), (0, 1));
    assert_eq!(hrefs(&none), ["/incidents"]);
    ev.records = vec![
        record("n1", "near_miss", "a", at("2026-05-01")),
        record("n0", "near_miss", "a", at("2025-05-01")),
    ];
    assert_eq!(share(&run(&rule, &ev)), (0, 1));
    ev.records.push(record("n2", "near_miss", "b", at("2026-06-01")));
    let met = run(&rule, &ev);
    assert_eq!(share(&met), (1, 1));
    assert_eq!(met.evidence.len(), 2);
    let drill = Rule::CountAtLeast {
        record_kind: "drill".into(),
        n: 1,
    };
    assert_eq!(hrefs(&run(&drill, &ev)), ["/emergency-plans"]);
}

// --- S5 ---

fn investigation(id: &str, subject: &str, worker: bool, person: bool) -> InvestigationEv {
    InvestigationEv {
        id: id.into(),
        title: id.into(),
        subject_id: subject.into(),
        created_ms: at("2026-05-02"),
        completed: true,
        blames_worker_only: worker,
        person_only_actions: person,
    }
}

#[test]
fn investigations_sound_wants_system_causes_and_actions() {
    let mut ev = evidence();
    assert_eq!(
        run(&Rule::InvestigationsSound, &ev).measure,
        Measure::NotApplicable
    );
    ev.investigations = vec![
        investigation("v1", "inc1", false, false),
        investigation("v2", "inc2", true, false),
        investigation("v3", "inc3", false, true),
    ];
    let partly = run(&Rule::InvestigationsSound, &ev);
    assert_eq!(share(&partly), (1, 3));
    let gap = partly.gap.unwrap();
    assert_eq!(gap.links[0].label, "v2 (worker blamed)");
    assert_eq!(gap.links[0].href, "/investigations/v2");
    assert_eq!(gap.links[1].label, "v3 (person-only actions)");
    ev.investigations.truncate(1);
    assert_eq!(share(&run(&Rule::InvestigationsSound, &ev)), (1, 1));
}

#[test]
fn incidents_investigated_matches_investigations_to_their_subject() {
    let mut ev = evidence();
    assert_eq!(
        run(&Rule::IncidentsInvestigated, &ev).measure,
        Measure::NotApplicable
    );
    let incident = |id: &str, when: &str| IncidentEv {
        id: id.into(),
        title: id.into(),
        reported_ms: Some(at(when)),
    };
    ev.incidents = vec![
        incident("inc1", "2026-05-01"),
        incident("inc2", "2026-06-01"),
        incident("inc0", "2025-06-01"),
    ];
    ev.investigations = vec![investigation("v1", "inc1", false, false)];
    let partly = run(&Rule::IncidentsInvestigated, &ev);
    assert_eq!(share(&partly), (1, 2));
    assert_eq!(hrefs(&partly), ["/records/inc2", "/incidents"]);
    ev.investigations.push(investigation("v2", "inc2", true, true));
    assert_eq!(share(&run(&Rule::IncidentsInvestigated, &ev)), (2, 2));
}

// --- S6 ---

fn plan(id: &str, site: &str, revised: i64) -> PlanEv {
    PlanEv {
        id: id.into(),
        site_id: site.into(),
        current: true,
        revised_ms: Some(revised),
    }
}

#[test]
fn sites_with_plan_reads_the_gap_in_sites_and_links_each_site() {
    let rule = Rule::SitesWithPlan { max_age_months: 12 };
    let mut ev = evidence();
    assert_eq!(run(&rule, &ev).measure, Measure::NotApplicable);
    let first = at("2026-03-02");
    ev.records = vec![
        record("j1", "jsea", "a", first),
        record("j2", "jsea", "b", first),
        record("t1", "tailgate_meeting", "c", first + DAY),
        // A plan is not work: it does not make a site active.
        record("pl", "emergency_plan", "a", first - 10 * DAY),
    ];
    let none = run(&rule, &ev);
    assert_eq!(share(&none), (0, 3));
    let gap = none.gap.unwrap();
    assert_eq!(gap.sentence, "3 of 3 sites have no current emergency plan.");
    assert_eq!(gap.links[0].href, "/emergency-plans/new?site=a");
    ev.plans = vec![
        plan("pa", "a", first - 10 * DAY),
        // Revised the evening of the first day: on or before it.
        plan("pb", "b", first + 6 * 3_600_000),
        // Made after work began at c.
        plan("pc", "c", first + 5 * DAY),
    ];
    let partly = run(&rule, &ev);
    assert_eq!(share(&partly), (2, 3));
    let gap = partly.gap.unwrap();
    assert_eq!(
        gap.sentence,
        "1 of 3 sites had its plan only after work began there."
    );
    assert_eq!(gap.links[0].href, "/records/pc");
    // A draft plan is no plan; one older than 12 months at the window's end is not current.
    ev.plans[0].current = false;
    ev.plans[1].revised_ms = Some(at("2025-10-01"));
    let sentence = run(&rule, &ev).gap.unwrap().sentence;
    assert_eq!(
        sentence,
        "2 of 3 sites have no current emergency plan, and 1 had its plan only after work began there."
    );
    ev.plans = vec![
        plan("pa", "a", first),
        plan("pb", "b", first),
        plan("pc", "c", first),
    ];
    assert_eq!(share(&run(&rule, &ev)), (3, 3));
    ev.plans.clear();
    ev.records.retain(|r| r.site_id == "a");
    assert_eq!(
        run(&rule, &ev).gap.unwrap().sentence,
        "1 of 1 site has no current emergency plan."
    );
}

#[test]
fn plan_reviewed_at_first_tailgate_looks_at_each_active_sites_first_meeting() {
    let mut ev = evidence();
    assert_eq!(
        run(&Rule::PlanReviewedAtFirstTailgate, &ev).measure,
        Measure::NotApplicable
    );
    let first = at("2026-03-02");
    ev.records = vec![record("j1", "jsea", "a", first), record("j2", "jsea", "b", first)];
    let tailgate = |id: &str, site: &str, when: i64, reviewed: bool| TailgateEv {
        id: id.into(),
        title: id.into(),
        site_id: site.into(),
        held_ms: Some(when),
        plan_reviewed: reviewed,
    };
    ev.tailgates = vec![
        tailgate("t1", "a", first, true),
        tailgate("t2", "a", first + DAY, false),
        // At b the first meeting did not review it; a later one did.
        tailgate("t3", "b", first, false),
        tailgate("t4", "b", first + DAY, true),
    ];
    let partly = run(&Rule::PlanReviewedAtFirstTailgate, &ev);
    assert_eq!(share(&partly), (1, 2));
    assert_eq!(hrefs(&partly), ["/records/t3"]);
    ev.tailgates.retain(|t| t.id != "t3");
    assert_eq!(share(&run(&Rule::PlanReviewedAtFirstTailgate, &ev)), (2, 2));
    // A site with work and no tailgate meeting at all has not reviewed it.
    ev.tailgates.clear();
    let none = run(&Rule::PlanReviewedAtFirstTailgate, &ev);
    assert_eq!(share(&none), (0, 2));
    assert_eq!(hrefs(&none)[0], "/records?kind=tailgate_meeting&site=a");
}

#[test]
fn manual_and_unknown_rules_are_left_to_the_auditor() {
    let ev = evidence();
    assert!(evaluate(&Rule::Manual, &ev).is_none());
    assert!(evaluate(&Rule::Unknown("worker_survey".into()), &ev).is_none());
    assert!(describe(&Rule::Unknown("worker_survey".into())).contains("not estimated"));
}

#[test]
fn the_default_window_is_twelve_whole_months() {
    let to = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
    assert_eq!(months_back(to, 12), NaiveDate::from_ymd_opt(2025, 12, 1).unwrap());
    let w = window();
    assert!(w.contains(at("2025-12-01")) && w.contains(at("2026-11-30")));
    assert!(!w.contains(at("2025-11-30")) && !w.contains(at("2026-12-01")));
}
