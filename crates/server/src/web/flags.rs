//! `/flags`: everything flagged, grouped by flag and then site, newest first, each linking to its
//! record; and what has no record to carry a flag: the inspections missed, each linking to its
//! schedule, and the sites with recent work and no current emergency plan, each linking to the
//! form that writes one.

use askama::Template;
use axum::extract::State;
use axum::response::Response;

use super::approvals::directory;
use super::records::{Row, flag_label, row};
use super::view::{Nav, render};
use super::{Visitor, WebError};
use crate::AppState;
use crate::service::time::human;
use crate::service::{emergency, inspections, records};

#[derive(Template)]
#[template(path = "flags.html")]
struct FlagsPage {
    nav: Option<Nav>,
    /// Missed inspection windows, newest first, by site.
    missed: Vec<(String, Vec<MissedRow>)>,
    missed_label: String,
    missed_count: usize,
    /// Sites with work in the last 30 days and no current emergency plan: (id, name, standing).
    without_plan: Vec<(String, String, &'static str)>,
    groups: Vec<FlagGroup>,
    /// Whether the newest `records::MAX_PAGE` flagged records were all there was.
    complete: bool,
}

pub struct MissedRow {
    pub schedule_id: String,
    pub title: String,
    /// The window nobody inspected in, in the site's zone.
    pub window: String,
}

pub struct FlagGroup {
    pub code: String,
    pub label: String,
    pub count: usize,
    /// Site name and its flagged records, newest first.
    pub sites: Vec<(String, Vec<Row>)>,
}

pub async fn list(State(state): State<AppState>, visitor: Visitor) -> Result<Response, WebError> {
    let directory = directory(&state, &visitor).await?;
    let flagged = records::flagged(&state, &visitor.principal).await?;
    let complete = flagged.len() < records::MAX_PAGE as usize;
    // Groups, and sites within them, come in the order of their newest flagged record; records
    // keep the store's newest-first order.
    let mut groups: Vec<FlagGroup> = Vec::new();
    for record in &flagged {
        for code in &record.flags {
            let index = groups.iter().position(|g| &g.code == code).unwrap_or_else(|| {
                groups.push(FlagGroup {
                    code: code.clone(),
                    label: flag_label(code),
                    count: 0,
                    sites: Vec::new(),
                });
                groups.len() - 1
            });
            let group = &mut groups[index];
            group.count += 1;
            let site = directory.site_name(&record.site_id);
            match group.sites.iter_mut().find(|(name, _)| *name == site) {
                Some((_, rows)) => rows.push(row(record, &directory)),
                None => group.sites.push((site, vec![row(record, &directory)])),
            }
        }
    }
    let mut missed: Vec<(String, Vec<MissedRow>)> = Vec::new();
    let mut missed_count = 0;
    for status in inspections::statuses(&state, &visitor.principal).await? {
        let zone = status.zone();
        let site = directory.site_name(&status.schedule.site_id);
        for occurrence in status.occurrences.iter().rev().filter(|o| o.flag.is_some()) {
            let row = MissedRow {
                schedule_id: status.schedule.id.clone(),
                title: status.schedule.title.clone(),
                window: format!(
                    "{} to {}",
                    human(occurrence.window.starts_at_ms, zone),
                    human(occurrence.window.ends_at_ms, zone)
                ),
            };
            missed_count += 1;
            match missed.iter_mut().find(|(name, _)| *name == site) {
                Some((_, rows)) => rows.push(row),
                None => missed.push((site.clone(), vec![row])),
            }
        }
    }
    let now = (state.clock)();
    let without_plan = emergency::sites(&state, &visitor.principal)
        .await?
        .into_iter()
        .filter(|s| s.flagged(now))
        .map(|s| (s.site_id, s.site_name, s.standing.label()))
        .collect();
    let page = FlagsPage {
        nav: Some(Nav::new(&visitor, "/flags")),
        missed,
        without_plan,
        missed_label: flag_label(inspections::MISSED),
        missed_count,
        groups,
        complete,
    };
    Ok(render(&page))
}
