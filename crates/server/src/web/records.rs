//! `/records`: every kind, filtered, sorted and paged; `/records.csv`: the same list as a
//! spreadsheet; `/records/{id}`: one record whole, printable.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use serde::Deserialize;
use sync_core::model::Body;
use sync_core::{Kind, ListFilter, ListOrder, Projection};

use super::approvals::{SignatureView, StepView, directory, signatures, steps};
use super::view::{
    Directory, Nav, PlaceView, TimeView, describe_place, describe_time, evidence_row, query_string, render,
};
use super::{Visitor, WebError};
use crate::AppState;
use crate::service::{export, records, time};

/// Rows per page.
const PAGE_SIZE: u32 = 50;

/// The list's filters as the form sends them; an empty field is no filter.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RecordFilters {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    site: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    flag: String,
    #[serde(default)]
    person: String,
    /// First day, `YYYY-MM-DD`, in the site's time zone (Alberta's when no site is chosen).
    #[serde(default)]
    from: String,
    /// Last day, inclusive.
    #[serde(default)]
    to: String,
    #[serde(default)]
    sort: String,
    /// 1-based; anything but a positive number is the first page.
    #[serde(default)]
    page: String,
}

impl RecordFilters {
    /// The store's filter, or what was wrong with the form.
    fn to_filter(&self, directory: &Directory) -> Result<ListFilter, WebError> {
        let some = |s: &str| (!s.trim().is_empty()).then(|| s.trim().to_owned());
        let zone = directory.zone(&self.site);
        let day = |text: &str, name: &str| -> Result<Option<NaiveDate>, WebError> {
            if text.trim().is_empty() {
                return Ok(None);
            }
            NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
                .map(Some)
                .map_err(|_| {
                    WebError::Invalid(format!("{name} must be a date like 2026-11-27, not {text:?}"))
                })
        };
        let from = day(&self.from, "From")?;
        let to = day(&self.to, "To")?;
        if let (Some(from), Some(to)) = (from, to)
            && to < from
        {
            return Err(WebError::Invalid("the To date is before the From date".into()));
        }
        if !self.kind.is_empty() && Kind::parse(&self.kind).is_none() {
            return Err(WebError::Invalid(format!(
                "there is no record kind {:?}",
                self.kind
            )));
        }
        let order = if self.sort.is_empty() {
            ListOrder::default()
        } else {
            ListOrder::parse(&self.sort)
                .ok_or_else(|| WebError::Invalid(format!("cannot sort by {:?}", self.sort)))?
        };
        Ok(ListFilter {
            kind: some(&self.kind),
            site_id: some(&self.site),
            status: some(&self.status),
            flag: some(&self.flag),
            created_by: some(&self.person),
            created_from_ms: from.and_then(|d| time::day_start_ms(d, zone)),
            created_to_ms: to
                .and_then(|d| d.succ_opt())
                .and_then(|d| time::day_start_ms(d, zone)),
            order,
            ..ListFilter::default()
        })
    }

    /// The query string of these filters, without the page.
    fn query(&self) -> String {
        query_string(&[
            ("kind", &self.kind),
            ("site", &self.site),
            ("status", &self.status),
            ("flag", &self.flag),
            ("person", &self.person),
            ("from", &self.from),
            ("to", &self.to),
            ("sort", &self.sort),
        ])
    }
}

pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

fn choices(options: impl IntoIterator<Item = (String, String)>, current: &str) -> Vec<Choice> {
    options
        .into_iter()
        .map(|(value, label)| Choice {
            selected: value == current,
            value,
            label,
        })
        .collect()
}

pub struct Row {
    pub id: String,
    pub title: String,
    pub kind: &'static str,
    pub site: String,
    pub status: String,
    pub created_by: String,
    pub created_at: String,
    pub completed_at: String,
    pub flags: Vec<String>,
}

pub fn row(p: &Projection, directory: &Directory) -> Row {
    Row {
        id: p.id.clone(),
        title: if p.title.trim().is_empty() {
            "(untitled)".into()
        } else {
            p.title.clone()
        },
        kind: Kind::parse(&p.kind).map_or("Unknown kind", Kind::label),
        site: directory.site_name(&p.site_id),
        status: p.status.replace('_', " "),
        created_by: directory.person(&p.created_by),
        created_at: directory.time(&p.site_id, p.created_at_ms),
        completed_at: p
            .completed_at_ms
            .map(|ms| directory.time(&p.site_id, ms))
            .unwrap_or_default(),
        flags: p.flags.iter().map(|code| flag_label(code)).collect(),
    }
}

/// A flag code as a heading: `jsea.completed_after_work_started` → "JSEA: completed after work
/// started".
pub fn flag_label(code: &str) -> String {
    let (scope, what) = code.split_once('.').unwrap_or(("", code));
    let scope = Kind::parse(scope).map_or_else(
        || {
            let mut s = scope.replace('_', " ");
            if let Some(first) = s.get_mut(0..1) {
                first.make_ascii_uppercase();
            }
            s
        },
        |k| k.label().to_owned(),
    );
    if scope.is_empty() {
        what.replace('_', " ")
    } else {
        format!("{scope}: {}", what.replace('_', " "))
    }
}

#[derive(Template)]
#[template(path = "records.html")]
struct ListPage {
    nav: Option<Nav>,
    kinds: Vec<Choice>,
    sites: Vec<Choice>,
    statuses: Vec<Choice>,
    flags: Vec<Choice>,
    people: Vec<Choice>,
    sorts: Vec<Choice>,
    from: String,
    to: String,
    rows: Vec<Row>,
    csv_href: String,
    prev_href: Option<String>,
    next_href: Option<String>,
    page: u32,
}

pub async fn list(
    State(state): State<AppState>,
    visitor: Visitor,
    Query(filters): Query<RecordFilters>,
) -> Result<Response, WebError> {
    let who = &visitor.principal;
    let directory = directory(&state, &visitor).await?;
    let mut filter = filters.to_filter(&directory)?;
    let page = filters.page.trim().parse::<u32>().unwrap_or(1).max(1);
    // One row more than a page says whether there is a next page.
    filter.limit = Some(PAGE_SIZE + 1);
    filter.offset = Some((page - 1).saturating_mul(PAGE_SIZE));
    let mut found = records::list(&state, who, filter).await?;
    let more = found.len() > PAGE_SIZE as usize;
    found.truncate(PAGE_SIZE as usize);
    let flag_codes = flag_codes_in_scope(&state, &visitor).await?;
    let query = filters.query();
    let page_href = |n: u32| {
        let sep = if query.is_empty() { "" } else { "&" };
        format!("/records?{query}{sep}page={n}")
    };
    let mut statuses: Vec<&str> = Kind::ALL.iter().flat_map(|k| k.statuses()).copied().collect();
    statuses.sort_unstable();
    statuses.dedup();
    let page_view = ListPage {
        nav: Some(Nav::new(&visitor, "/records")),
        kinds: choices(
            Kind::ALL
                .iter()
                .map(|k| (k.as_str().to_owned(), k.label().to_owned())),
            &filters.kind,
        ),
        sites: choices(
            directory.sites.values().map(|s| (s.id.clone(), s.name.clone())),
            &filters.site,
        ),
        statuses: choices(
            statuses.iter().map(|s| (s.to_string(), s.replace('_', " "))),
            &filters.status,
        ),
        flags: choices(
            flag_codes.into_iter().map(|code| {
                let label = flag_label(&code);
                (code, label)
            }),
            &filters.flag,
        ),
        people: choices(
            directory
                .people
                .iter()
                .map(|(id, name)| (id.clone(), name.clone())),
            &filters.person,
        ),
        sorts: choices(
            ListOrder::ALL
                .iter()
                .map(|o| (o.as_str().to_owned(), sort_label(*o).to_owned())),
            if filters.sort.is_empty() {
                ListOrder::default().as_str()
            } else {
                &filters.sort
            },
        ),
        from: filters.from.clone(),
        to: filters.to.clone(),
        rows: found.iter().map(|p| row(p, &directory)).collect(),
        csv_href: format!("/records.csv?{query}"),
        prev_href: (page > 1).then(|| page_href(page - 1)),
        next_href: more.then(|| page_href(page + 1)),
        page,
    };
    Ok(render(&page_view))
}

fn sort_label(order: ListOrder) -> &'static str {
    match order {
        ListOrder::NewestCreated => "Newest first",
        ListOrder::OldestCreated => "Oldest first",
        ListOrder::NewestCompleted => "Recently completed",
        ListOrder::OldestCompleted => "Completed longest ago",
        ListOrder::Title => "Title A–Z",
    }
}

/// The flag codes on the person's flagged records (the flag filter's choices).
pub(super) async fn flag_codes_in_scope(
    state: &AppState,
    visitor: &Visitor,
) -> Result<Vec<String>, WebError> {
    let flagged = records::flagged(state, &visitor.principal).await?;
    let mut codes: Vec<String> = flagged.into_iter().flat_map(|p| p.flags).collect();
    codes.sort_unstable();
    codes.dedup();
    Ok(codes)
}

pub async fn csv(
    State(state): State<AppState>,
    visitor: Visitor,
    Query(filters): Query<RecordFilters>,
) -> Result<Response, WebError> {
    let directory = directory(&state, &visitor).await?;
    let filter = filters.to_filter(&directory)?;
    let bytes = export::records_csv(&state, &visitor.principal, filter).await?;
    Ok(csv_response(bytes))
}

/// A CSV download: UTF-8, offered as a file named for the day.
pub fn csv_response(bytes: Vec<u8>) -> Response {
    let day = chrono::Utc::now().format("%Y-%m-%d");
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"muster-records-{day}.csv\""),
            ),
        ],
        bytes,
    )
        .into_response()
}

#[derive(Template)]
#[template(path = "record.html")]
struct DetailPage {
    nav: Option<Nav>,
    title: String,
    kind: &'static str,
    id: String,
    site: String,
    status: String,
    created_by: String,
    timeline: Vec<EventView>,
    flags: Vec<FlagView>,
    content: Vec<(String, String)>,
    steps: Vec<StepView>,
    signatures: Vec<SignatureView>,
    signed_rows: Vec<(String, String)>,
    decisions: Vec<DecisionView>,
    findings: Vec<String>,
    conflicts: Vec<String>,
}

pub struct EventView {
    pub event: String,
    pub by: String,
    pub time: TimeView,
    pub place: PlaceView,
}

pub struct FlagView {
    pub code: String,
    pub label: String,
    pub message: String,
    pub evidence: Vec<(String, String)>,
}

/// Evidence keys whose value is a person's id: shown as the person's name.
const PERSON_EVIDENCE: [&str; 5] = ["assignee", "holder", "operator", "signer", "verifier"];

impl FlagView {
    /// A flag as a page shows it: its label, and its evidence with people named.
    pub fn of(flag: &sync_core::Flag, directory: &Directory) -> Self {
        Self {
            code: flag.code.clone(),
            label: flag_label(&flag.code),
            message: flag.message.clone(),
            evidence: flag
                .evidence
                .iter()
                .map(|(k, v)| {
                    let v = if PERSON_EVIDENCE.contains(&k.as_str()) {
                        directory.person(v)
                    } else {
                        v.clone()
                    };
                    (k.replace('_', " "), v)
                })
                .collect(),
        }
    }
}

pub struct DecisionView {
    pub decision: String,
    pub by: String,
    pub comment: Option<String>,
    pub when: String,
    /// Whether the decision was on the content the record holds now.
    pub current: bool,
}

pub async fn detail(
    State(state): State<AppState>,
    visitor: Visitor,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let detail = records::detail(&state, &visitor.principal, &id).await?;
    let directory = directory(&state, &visitor).await?;
    let record = &detail.record;
    let header = &record.header;
    let zone = directory.zone(&header.site_id);
    let spec = record.body.spec();
    // The kind's own description of its content; signature rows go to their own section.
    let (signed_rows, content): (Vec<_>, Vec<_>) = spec
        .evidence()
        .into_iter()
        .map(|row| evidence_row(row, &directory, zone))
        .partition(|(label, _)| label.starts_with("Signed"));
    let (steps, signatures, decisions) = match &record.body {
        Body::Jsea(jsea) => (
            steps(jsea),
            signatures(jsea, &directory, zone),
            jsea.approval
                .iter()
                .map(|a| DecisionView {
                    decision: a.decision.as_str().to_owned(),
                    by: a.by_name.clone(),
                    comment: a.comment.clone(),
                    when: time::human(a.stamp.wall_ms, zone),
                    current: a.content_hash == jsea.content_hash(),
                })
                .collect(),
        ),
        _ => (Vec::new(), Vec::new(), Vec::new()),
    };
    let page = DetailPage {
        nav: Some(Nav::new(&visitor, "/records")),
        title: spec.title(),
        kind: record.kind().label(),
        id: header.id.clone(),
        site: directory.site_name(&header.site_id),
        status: spec.status().replace('_', " "),
        created_by: directory.person(&header.created_by),
        timeline: detail
            .timeline
            .iter()
            .map(|e| EventView {
                event: e.event.replace('_', " "),
                by: e.by.as_deref().map(|by| directory.person(by)).unwrap_or_default(),
                time: describe_time(&e.time, zone),
                place: describe_place(e.place.as_ref()),
            })
            .collect(),
        flags: detail.flags.iter().map(|f| FlagView::of(f, &directory)).collect(),
        content: if steps.is_empty() {
            content
        } else {
            // A JSEA's steps are shown as a tree below; keep only the rows about the whole task.
            content
                .into_iter()
                .filter(|(label, _)| {
                    !label.starts_with("Step ") && !label.starts_with("Hazard") && label != "Why PPE alone"
                })
                .collect()
        },
        steps,
        signatures,
        signed_rows,
        decisions,
        findings: detail.findings.iter().map(|f| f.message.clone()).collect(),
        conflicts: detail
            .conflicts
            .iter()
            .map(|c| format!("{}: {}", c.path, c.values.join(" / ")))
            .collect(),
    };
    Ok(render(&page))
}
