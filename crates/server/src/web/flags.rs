//! `/flags`: everything flagged, grouped by flag and then site, newest first, each linking to its
//! record.

use askama::Template;
use axum::extract::State;
use axum::response::Response;

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
    let page = FlagsPage {
        nav: Some(Nav::new(&visitor, "/flags")),
        groups,
        complete,
    };
    Ok(render(&page))
}
