//! `/flags`: everything flagged, grouped by flag and then site, newest first, each linking to its
//! record.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use std::collections::BTreeMap;
use sync_core::ListFilter;

use super::approvals::directory;
use super::records::{Row, flag_label, row};
use super::view::{Nav, render};
use super::{Visitor, WebError};
use crate::AppState;
use crate::service::records;

#[derive(Template)]
#[template(path = "flags.html")]
struct FlagsPage {
    nav: Option<Nav>,
    groups: Vec<FlagGroup>,
    /// Whether the newest `records::MAX_PAGE` flagged records were all there was.
    complete: bool,
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
    let flagged = records::list(
        &state,
        &visitor.principal,
        ListFilter {
            flagged: Some(true),
            limit: Some(records::MAX_PAGE),
            ..ListFilter::default()
        },
    )
    .await?;
    let complete = flagged.len() < records::MAX_PAGE as usize;
    // flag code → site name → records, each list keeping the store's newest-first order.
    let mut by_flag: BTreeMap<String, BTreeMap<String, Vec<Row>>> = BTreeMap::new();
    for record in &flagged {
        for code in &record.flags {
            by_flag
                .entry(code.clone())
                .or_default()
                .entry(directory.site_name(&record.site_id))
                .or_default()
                .push(row(record, &directory));
        }
    }
    let groups = by_flag
        .into_iter()
        .map(|(code, sites)| FlagGroup {
            label: flag_label(&code),
            count: sites.values().map(Vec::len).sum(),
            code,
            sites: sites.into_iter().collect(),
        })
        .collect();
    let page = FlagsPage {
        nav: Some(Nav::new(&visitor, "/flags")),
        groups,
        complete,
    };
    Ok(render(&page))
}
