//! Readiness catalogues as data: elements, questions, points and each question's evidence rule,
//! read from TOML (schema `muster.readiness-catalogue`, version 1). The six-section SECOR
//! catalogue is built in (`catalogues/secor-six.toml`); a certifying partner's own catalogues are
//! files in `<data dir>/catalogues/`. A rule is one of the closed vocabulary [`Rule`]; a rule kind
//! this server does not know, or `manual`, leaves the question to the auditor.

use serde::Deserialize;
use std::collections::BTreeSet;
use std::path::Path;

/// The schema name every catalogue file declares.
pub const SCHEMA: &str = "muster.readiness-catalogue";
/// The schema version this server reads.
pub const SCHEMA_VERSION: u32 = 1;

/// The built-in catalogue's file, embedded.
pub const SECOR_SIX: &str = include_str!("../../../catalogues/secor-six.toml");
/// The built-in catalogue's id, the report's default.
pub const DEFAULT_ID: &str = "secor-six";

/// A catalogue of elements and questions, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Catalogue {
    pub id: String,
    pub name: String,
    pub version: String,
    /// Where it comes from, in words.
    pub source: String,
    pub window_months: u32,
    /// Overall share needed to pass (0.80).
    pub pass_overall: f64,
    /// Share every element needs (0.50).
    pub element_floor: f64,
    pub elements: Vec<Element>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Element {
    pub id: String,
    pub name: String,
    /// Kept as information; the score weighs questions by their points.
    pub proposed_weight: Option<f64>,
    pub covers: String,
    pub questions: Vec<Question>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Question {
    pub id: String,
    pub ask: String,
    pub points: f64,
    pub scoring: Scoring,
    /// `documentation`, `interview`, `observation`.
    pub method: Vec<String>,
    /// Estimated from records standing in for an interview or observation.
    pub proxy: bool,
    /// `verified`, `partner_analog` or `inferred`.
    pub provenance: String,
    /// The ACSA questions it stands for (information).
    pub maps_to_questions: Vec<String>,
    pub rule: Rule,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Scoring {
    /// Earned = points × share.
    Proportional,
    /// Full points only when every item of the population meets the rule.
    AllOrNothing,
}

/// The closed vocabulary of evidence rules (`rules.rs` evaluates each).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Rule {
    /// A signed policy whose last signer is an active manager, last signed or reviewed within
    /// `max_age_months` of the window's end.
    PolicyCurrent {
        #[serde(default = "twelve")]
        max_age_months: u32,
    },
    /// Share of the policy topics the current policy covers.
    PolicyCovers,
    /// Share of the window's quarters with a held management meeting reviewing safety.
    ManagementReview,
    /// Share of active workers with a signed acknowledgement of `subject`.
    Acknowledged { subject: String },
    /// Share of refusals reported in the window that are closed.
    RefusalsClosed,
    /// Share of JSEAs with work started in the window that were completed first.
    JseaBeforeWork,
    /// Share of JSEAs with work started in the window that were approved first.
    ApprovedBeforeWork,
    /// Share of hazards in the window's JSEAs with a control above PPE or a justification.
    ControlsAbovePpe,
    /// Share of people working at a site in the window oriented there by their first day.
    OrientedBeforeWork,
    /// Share of records of `record_kind` in the window carrying none of `codes`.
    RecordsWithoutFlags { record_kind: String, codes: Vec<String> },
    /// Scheduled inspections done on time ÷ (done + late + missed).
    InspectionsOnTime,
    /// Corrective actions raised in the window from `sources` closed by their due date.
    ActionsClosed {
        sources: Vec<String>,
        #[serde(default)]
        require_verification: bool,
    },
    /// At least `n` records of `record_kind` in the window.
    CountAtLeast { record_kind: String, n: u32 },
    /// Share of the window's investigations that neither blame the worker alone nor only ask
    /// people to behave better.
    InvestigationsSound,
    /// Share of incidents reported in the window with an investigation.
    IncidentsInvestigated,
    /// Share of active sites with a current emergency plan from before their first work.
    SitesWithPlan {
        #[serde(default = "twelve")]
        max_age_months: u32,
    },
    /// Share of active sites whose first tailgate meeting reviewed the emergency plan.
    PlanReviewedAtFirstTailgate,
    /// Assessed by the auditor: not estimated.
    Manual,
    /// A kind this server does not implement (kept by name): assessed by the auditor.
    #[serde(skip)]
    Unknown(String),
}

fn twelve() -> u32 {
    12
}

/// Every rule kind the server implements, with `manual`.
pub const RULE_KINDS: [&str; 18] = [
    "policy_current",
    "policy_covers",
    "management_review",
    "acknowledged",
    "refusals_closed",
    "jsea_before_work",
    "approved_before_work",
    "controls_above_ppe",
    "oriented_before_work",
    "records_without_flags",
    "inspections_on_time",
    "actions_closed",
    "count_at_least",
    "investigations_sound",
    "incidents_investigated",
    "sites_with_plan",
    "plan_reviewed_at_first_tailgate",
    "manual",
];

impl Rule {
    /// The rule's kind as the catalogue names it.
    pub fn kind(&self) -> &str {
        match self {
            Rule::PolicyCurrent { .. } => "policy_current",
            Rule::PolicyCovers => "policy_covers",
            Rule::ManagementReview => "management_review",
            Rule::Acknowledged { .. } => "acknowledged",
            Rule::RefusalsClosed => "refusals_closed",
            Rule::JseaBeforeWork => "jsea_before_work",
            Rule::ApprovedBeforeWork => "approved_before_work",
            Rule::ControlsAbovePpe => "controls_above_ppe",
            Rule::OrientedBeforeWork => "oriented_before_work",
            Rule::RecordsWithoutFlags { .. } => "records_without_flags",
            Rule::InspectionsOnTime => "inspections_on_time",
            Rule::ActionsClosed { .. } => "actions_closed",
            Rule::CountAtLeast { .. } => "count_at_least",
            Rule::InvestigationsSound => "investigations_sound",
            Rule::IncidentsInvestigated => "incidents_investigated",
            Rule::SitesWithPlan { .. } => "sites_with_plan",
            Rule::PlanReviewedAtFirstTailgate => "plan_reviewed_at_first_tailgate",
            Rule::Manual => "manual",
            Rule::Unknown(kind) => kind,
        }
    }

    /// Whether the report estimates it (an auditor's question is left out of the score).
    pub fn is_estimated(&self) -> bool {
        !matches!(self, Rule::Manual | Rule::Unknown(_))
    }
}

/// Why a catalogue was refused: the file (or `built-in`) and what is wrong with it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("readiness catalogue {file}: {problem}")]
pub struct CatalogueError {
    pub file: String,
    pub problem: String,
}

// The file as written; checked and turned into a `Catalogue` by `parse`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileCatalogue {
    schema: String,
    schema_version: u32,
    id: String,
    name: String,
    version: String,
    #[serde(default)]
    source: String,
    window_months: u32,
    pass: FilePass,
    #[serde(rename = "element")]
    elements: Vec<FileElement>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FilePass {
    overall: f64,
    element_floor: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileElement {
    id: String,
    name: String,
    proposed_weight: Option<f64>,
    #[serde(default)]
    covers: String,
    #[serde(rename = "question", default)]
    questions: Vec<FileQuestion>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileQuestion {
    id: String,
    ask: String,
    points: f64,
    scoring: String,
    method: Vec<String>,
    #[serde(default)]
    proxy: bool,
    provenance: String,
    #[serde(default)]
    maps_to_questions: Vec<String>,
    rule: toml::Table,
}

const METHODS: [&str; 3] = ["documentation", "interview", "observation"];
const PROVENANCES: [&str; 3] = ["verified", "partner_analog", "inferred"];

/// Reads and checks one catalogue; `file` names it in the error.
pub fn parse(text: &str, file: &str) -> Result<Catalogue, CatalogueError> {
    let fail = |problem: String| CatalogueError {
        file: file.to_owned(),
        problem,
    };
    let raw: FileCatalogue = toml::from_str(text).map_err(|e| fail(e.to_string().trim_end().to_owned()))?;
    if raw.schema != SCHEMA {
        return Err(fail(format!(
            "schema is {:?}; a readiness catalogue says schema = {SCHEMA:?}",
            raw.schema
        )));
    }
    if raw.schema_version != SCHEMA_VERSION {
        return Err(fail(format!(
            "schema_version {} is not one this server reads (it reads {SCHEMA_VERSION})",
            raw.schema_version
        )));
    }
    if !valid_id(&raw.id) {
        return Err(fail(format!(
            "id {:?} must be letters, digits, '-', '_' or '.', at most 64",
            raw.id
        )));
    }
    if !(1..=60).contains(&raw.window_months) {
        return Err(fail(format!(
            "window_months {} must be from 1 to 60",
            raw.window_months
        )));
    }
    for (what, share) in [
        ("pass.overall", raw.pass.overall),
        ("pass.element_floor", raw.pass.element_floor),
    ] {
        if !(0.0..=1.0).contains(&share) {
            return Err(fail(format!(
                "{what} = {share} must be a share from 0 to 1 (0.80 for 80 %)"
            )));
        }
    }
    if raw.elements.is_empty() {
        return Err(fail("it has no [[element]]".into()));
    }
    let mut ids = BTreeSet::new();
    let mut elements = Vec::with_capacity(raw.elements.len());
    for element in raw.elements {
        if !valid_id(&element.id) || !ids.insert(element.id.clone()) {
            return Err(fail(format!(
                "element id {:?} is empty, malformed or used twice",
                element.id
            )));
        }
        if element.questions.is_empty() {
            return Err(fail(format!(
                "element {} has no [[element.question]]",
                element.id
            )));
        }
        let mut questions = Vec::with_capacity(element.questions.len());
        for q in element.questions {
            let at = format!("question {}", q.id);
            if !valid_id(&q.id) || !ids.insert(q.id.clone()) {
                return Err(fail(format!(
                    "question id {:?} in element {} is empty, malformed or used twice",
                    q.id, element.id
                )));
            }
            if q.ask.trim().is_empty() {
                return Err(fail(format!("{at}: ask is empty")));
            }
            if !(q.points.is_finite() && q.points > 0.0 && q.points <= 1000.0) {
                return Err(fail(format!(
                    "{at}: points = {} must be more than 0 and at most 1000",
                    q.points
                )));
            }
            let scoring = match q.scoring.as_str() {
                "proportional" => Scoring::Proportional,
                "all_or_nothing" => Scoring::AllOrNothing,
                other => {
                    return Err(fail(format!(
                        "{at}: scoring {other:?} must be \"proportional\" or \"all_or_nothing\""
                    )));
                }
            };
            if q.method.is_empty() {
                return Err(fail(format!("{at}: method names none of {METHODS:?}")));
            }
            if let Some(m) = q.method.iter().find(|m| !METHODS.contains(&m.as_str())) {
                return Err(fail(format!("{at}: method {m:?} is not one of {METHODS:?}")));
            }
            if !PROVENANCES.contains(&q.provenance.as_str()) {
                return Err(fail(format!(
                    "{at}: provenance {:?} is not one of {PROVENANCES:?}",
                    q.provenance
                )));
            }
            let rule = rule_of(q.rule).map_err(|problem| fail(format!("{at}: rule {problem}")))?;
            questions.push(Question {
                id: q.id,
                ask: q.ask.trim().to_owned(),
                points: q.points,
                scoring,
                method: q.method,
                proxy: q.proxy,
                provenance: q.provenance,
                maps_to_questions: q.maps_to_questions,
                rule,
            });
        }
        elements.push(Element {
            id: element.id,
            name: element.name,
            proposed_weight: element.proposed_weight,
            covers: element.covers,
            questions,
        });
    }
    Ok(Catalogue {
        id: raw.id,
        name: raw.name,
        version: raw.version,
        source: raw.source,
        window_months: raw.window_months,
        pass_overall: raw.pass.overall,
        element_floor: raw.pass.element_floor,
        elements,
    })
}

/// A known rule kind with its parameters checked; an unknown kind kept by name.
fn rule_of(table: toml::Table) -> Result<Rule, String> {
    let kind = match table.get("kind") {
        Some(toml::Value::String(kind)) => kind.clone(),
        Some(other) => return Err(format!("kind = {other} must be a string")),
        None => return Err("has no kind".into()),
    };
    if !RULE_KINDS.contains(&kind.as_str()) {
        return Ok(Rule::Unknown(kind));
    }
    let rule: Rule = toml::Value::Table(table)
        .try_into()
        .map_err(|e: toml::de::Error| format!("{kind:?}: {}", e.message()))?;
    match &rule {
        Rule::RecordsWithoutFlags { codes, .. } if codes.is_empty() => {
            Err(format!("{kind:?}: codes names no flag code"))
        }
        Rule::ActionsClosed { sources, .. } if sources.is_empty() => {
            Err(format!("{kind:?}: sources names no record kind"))
        }
        Rule::CountAtLeast { n: 0, .. } => Err(format!("{kind:?}: n must be at least 1")),
        // A misspelt kind would find no records and quietly leave the score: refused instead.
        Rule::RecordsWithoutFlags { record_kind, .. } | Rule::CountAtLeast { record_kind, .. }
            if sync_core::Kind::parse(record_kind).is_none() =>
        {
            Err(format!("{kind:?}: there is no record kind {record_kind:?}"))
        }
        Rule::RecordsWithoutFlags { record_kind, codes } => match codes.iter().find(|code| {
            // The kind's own flags, and the time and place flags every kind gets.
            ![format!("{record_kind}."), "time.".into(), "place.".into()]
                .iter()
                .any(|prefix| code.starts_with(prefix.as_str()))
        }) {
            Some(code) => Err(format!(
                "{kind:?}: flag code {code:?} is not one {record_kind} records carry (theirs start \"{record_kind}.\", \"time.\" or \"place.\")"
            )),
            None => Ok(rule),
        },
        Rule::ActionsClosed { sources, .. } => match sources
            .iter()
            .find(|s| s.as_str() != "manual" && sync_core::Kind::parse(s).is_none())
        {
            Some(source) => Err(format!(
                "{kind:?}: there is no source {source:?} (a record kind, or \"manual\")"
            )),
            None => Ok(rule),
        },
        Rule::Acknowledged { subject }
            if sync_core::kinds::acknowledgement::AckSubject::parse(subject).is_none() =>
        {
            Err(format!(
                "{kind:?}: there is no acknowledgement subject {subject:?}"
            ))
        }
        Rule::PolicyCurrent { max_age_months: 0 } | Rule::SitesWithPlan { max_age_months: 0 } => {
            Err(format!("{kind:?}: max_age_months must be at least 1"))
        }
        _ => Ok(rule),
    }
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// The catalogues a server offers: the built-in one first, then the data directory's.
#[derive(Debug, Clone)]
pub struct Catalogues {
    all: Vec<Catalogue>,
}

impl Default for Catalogues {
    fn default() -> Self {
        Self::builtin()
    }
}

impl Catalogues {
    /// Only the built-in six-section catalogue.
    pub fn builtin() -> Self {
        let six =
            parse(SECOR_SIX, "built-in secor-six.toml").expect("the built-in catalogue parses (tested)");
        Self { all: vec![six] }
    }

    /// The built-in catalogue and every `*.toml` in `dir` (none when `dir` does not exist), in
    /// file-name order. A file that does not parse, or reuses an id, is an error naming it.
    pub fn load(dir: &Path) -> Result<Self, CatalogueError> {
        let mut catalogues = Self::builtin();
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(catalogues),
            Err(e) => {
                return Err(CatalogueError {
                    file: dir.display().to_string(),
                    problem: format!("cannot read the folder: {e}"),
                });
            }
        };
        let mut paths: Vec<_> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        paths.sort();
        for path in paths {
            let file = path.display().to_string();
            let text = std::fs::read_to_string(&path).map_err(|e| CatalogueError {
                file: file.clone(),
                problem: format!("cannot read it: {e}"),
            })?;
            let catalogue = parse(&text, &file)?;
            if catalogues.get(&catalogue.id).is_some() {
                return Err(CatalogueError {
                    file,
                    problem: format!("id {:?} is already used by another catalogue", catalogue.id),
                });
            }
            catalogues.all.push(catalogue);
        }
        Ok(catalogues)
    }

    pub fn get(&self, id: &str) -> Option<&Catalogue> {
        self.all.iter().find(|c| c.id == id)
    }

    pub fn all(&self) -> &[Catalogue] {
        &self.all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_catalogue_parses_with_six_sections_and_known_rules() {
        let six = parse(SECOR_SIX, "secor-six.toml").expect("parses");
        assert_eq!(six.id, DEFAULT_ID);
        assert_eq!(six.window_months, 12);
        assert_eq!((six.pass_overall, six.element_floor), (0.80, 0.50));
        let ids: Vec<&str> = six.elements.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ["S1", "S2", "S3", "S4", "S5", "S6"]);
        let questions: Vec<&Question> = six.elements.iter().flat_map(|e| &e.questions).collect();
        assert!(questions.iter().all(|q| !matches!(q.rule, Rule::Unknown(_))));
        // Every implemented rule kind is used at least once.
        for kind in RULE_KINDS {
            assert!(
                questions.iter().any(|q| q.rule.kind() == kind),
                "the built-in catalogue uses {kind}"
            );
        }
        let q = questions.iter().find(|q| q.id == "S4.q2").expect("S4.q2");
        assert_eq!(
            q.rule,
            Rule::ActionsClosed {
                sources: vec!["inspection".into(), "pre_start".into(), "manual".into()],
                require_verification: true
            }
        );
        assert_eq!(Catalogues::builtin().all().len(), 1);
    }

    const PARTNER: &str = r#"
schema = "muster.readiness-catalogue"
schema_version = 1
id = "partner-1"
name = "A partner's tool"
version = "2027"
window_months = 12
pass = { overall = 0.8, element_floor = 0.5 }
[[element]]
id = "E1"
name = "Policy"
[[element.question]]
id = "E1.a"
ask = "Policy signed?"
points = 2
scoring = "all_or_nothing"
method = ["documentation"]
provenance = "verified"
rule = { kind = "policy_current" }
[[element.question]]
id = "E1.b"
ask = "Do workers know it?"
points = 1
scoring = "proportional"
method = ["interview"]
provenance = "inferred"
rule = { kind = "worker_survey", share = 0.9 }
"#;

    #[test]
    fn an_unknown_rule_kind_is_kept_for_the_auditor_and_defaults_fill_in() {
        let c = parse(PARTNER, "partner.toml").expect("parses");
        let q = &c.elements[0].questions;
        assert_eq!(q[0].rule, Rule::PolicyCurrent { max_age_months: 12 });
        assert_eq!(q[1].rule, Rule::Unknown("worker_survey".into()));
        assert!(!q[1].rule.is_estimated());
    }

    #[test]
    fn a_bad_file_is_refused_naming_the_file_and_the_problem() {
        let cases = [
            (PARTNER.replace("points = 2", "points = \"two\""), "points"),
            (
                PARTNER.replace("\"verified\"", "\"rumour\""),
                "provenance \"rumour\"",
            ),
            (
                PARTNER.replace("schema_version = 1", "schema_version = 7"),
                "schema_version 7",
            ),
            (
                PARTNER.replace(
                    "{ kind = \"policy_current\" }",
                    "{ kind = \"policy_current\", max_age = 3 }",
                ),
                "question E1.a: rule \"policy_current\"",
            ),
            (
                PARTNER.replace(
                    "{ kind = \"policy_current\" }",
                    "{ kind = \"count_at_least\", record_kind = \"drill\" }",
                ),
                "missing field `n`",
            ),
            (
                PARTNER.replace(
                    "{ kind = \"policy_current\" }",
                    "{ kind = \"count_at_least\", record_kind = \"drills\", n = 1 }",
                ),
                "no record kind \"drills\"",
            ),
            (
                PARTNER.replace(
                    "{ kind = \"policy_current\" }",
                    "{ kind = \"records_without_flags\", record_kind = \"pre_start\", codes = [\"prestart.late\"] }",
                ),
                "flag code \"prestart.late\"",
            ),
            (
                PARTNER.replace(
                    "{ kind = \"policy_current\" }",
                    "{ kind = \"actions_closed\", sources = [\"inspections\"], require_verification = true }",
                ),
                "no source \"inspections\"",
            ),
            (
                PARTNER.replace(
                    "{ kind = \"policy_current\" }",
                    "{ kind = \"acknowledged\", subject = \"right-to-refuse\" }",
                ),
                "no acknowledgement subject",
            ),
            (PARTNER.replace("id = \"E1.b\"", "id = \"E1.a\""), "used twice"),
            (PARTNER.replace("all_or_nothing", "mostly"), "scoring \"mostly\""),
            ("id = [".to_owned(), "partner.toml"),
        ];
        for (text, problem) in cases {
            let error = parse(&text, "/data/catalogues/partner.toml").expect_err(problem);
            let message = error.to_string();
            assert!(
                message.starts_with("readiness catalogue /data/catalogues/partner.toml: "),
                "{message}"
            );
            assert!(message.contains(problem), "{message} should say {problem}");
        }
    }

    #[test]
    fn the_data_directory_adds_catalogues_and_a_bad_one_is_named() {
        let dir = tempfile::tempdir().expect("dir");
        assert_eq!(
            Catalogues::load(&dir.path().join("none"))
                .expect("no folder")
                .all()
                .len(),
            1
        );
        std::fs::write(dir.path().join("partner.toml"), PARTNER).expect("write");
        std::fs::write(dir.path().join("notes.txt"), "not a catalogue").expect("write");
        let loaded = Catalogues::load(dir.path()).expect("loads");
        assert_eq!(loaded.all().len(), 2);
        assert!(loaded.get("partner-1").is_some());
        std::fs::write(dir.path().join("z-broken.toml"), "schema = 1").expect("write");
        let error = Catalogues::load(dir.path()).expect_err("a broken file");
        assert!(error.file.ends_with("z-broken.toml"), "{error}");
        std::fs::remove_file(dir.path().join("z-broken.toml")).expect("rm");
        std::fs::write(dir.path().join("again.toml"), PARTNER).expect("write");
        let error = Catalogues::load(dir.path()).expect_err("a reused id");
        assert!(error.to_string().contains("already used"), "{error}");
    }
}
