//! CSV export of a filtered record list: one row per record, stable column names, times in
//! ISO-8601 with the site's offset, UTF-8 with a byte-order mark so spreadsheets read it as UTF-8.
//! A cell starting with `= + - @` (or a tab or carriage return) is prefixed with `'` so a
//! spreadsheet shows it as text instead of running it as a formula.

use std::collections::BTreeMap;
use sync_core::{ListFilter, Projection};

use super::time::{iso, zone_of};
use super::{Principal, ServiceError, ServiceResult, blocking};
use crate::AppState;
use crate::store::Site;

/// The export's columns, in order. Programs may rely on these names.
pub const COLUMNS: [&str; 13] = [
    "id",
    "kind",
    "site",
    "status",
    "title",
    "created_by",
    "created_at",
    "completed_at",
    "work_started_at",
    "closed_at",
    "assignee",
    "due_at",
    "flags",
];

/// More rows than this are refused: narrow the filter (a year of a busy company fits).
pub const MAX_ROWS: usize = 200_000;

const PAGE: u32 = 1000;

/// Every record in the person's scope matching `filter` (its paging ignored), as CSV bytes.
pub async fn records_csv(state: &AppState, who: &Principal, filter: ListFilter) -> ServiceResult<Vec<u8>> {
    let store = state.store.clone();
    let scope = who.scope();
    blocking(move || {
        let sites: BTreeMap<String, Site> = store
            .sites(&scope.tenant_id)?
            .into_iter()
            .map(|s| (s.id.clone(), s))
            .collect();
        let names: BTreeMap<String, String> = store
            .users(&scope.tenant_id)?
            .into_iter()
            .map(|u| (u.id, u.name))
            .collect();
        let mut rows = Vec::new();
        let mut offset = 0;
        loop {
            let page = ListFilter {
                limit: Some(PAGE),
                offset: Some(offset),
                ..filter.clone()
            };
            let batch = store.list_records(&scope, &page)?;
            let done = batch.len() < PAGE as usize;
            rows.extend(batch);
            if rows.len() > MAX_ROWS {
                return Err(ServiceError::invalid(
                    "export_too_large",
                    format!("more than {MAX_ROWS} records match; narrow the filter (a date range, a site)"),
                ));
            }
            if done {
                break;
            }
            offset += PAGE;
        }
        write_csv(&rows, &sites, &names)
    })
    .await
}

fn write_csv(
    rows: &[Projection],
    sites: &BTreeMap<String, Site>,
    names: &BTreeMap<String, String>,
) -> ServiceResult<Vec<u8>> {
    let mut out = Vec::from("\u{feff}".as_bytes());
    {
        let mut writer = csv::Writer::from_writer(&mut out);
        writer.write_record(COLUMNS).map_err(ServiceError::internal)?;
        for row in rows {
            let site = sites.get(&row.site_id);
            let zone = zone_of(site);
            let time = |ms: Option<i64>| ms.map(|ms| iso(ms, zone)).unwrap_or_default();
            let person = |id: &str| names.get(id).cloned().unwrap_or_else(|| id.to_owned());
            let cells = [
                row.id.clone(),
                row.kind.clone(),
                site.map_or_else(|| row.site_id.clone(), |s| s.name.clone()),
                row.status.clone(),
                row.title.clone(),
                person(&row.created_by),
                time(Some(row.created_at_ms)),
                time(row.completed_at_ms),
                time(row.work_started_at_ms),
                time(row.closed_at_ms),
                row.assignee.as_deref().map(person).unwrap_or_default(),
                time(row.due_at_ms),
                row.flags.join(" "),
            ];
            writer
                .write_record(cells.iter().map(|c| defuse(c).into_owned()))
                .map_err(ServiceError::internal)?;
        }
        writer.flush().map_err(ServiceError::internal)?;
    }
    Ok(out)
}

/// Any other list as CSV with the same rules: a header row, then `rows`, each cell defused.
pub fn table_csv(columns: &[&str], rows: impl IntoIterator<Item = Vec<String>>) -> ServiceResult<Vec<u8>> {
    let mut out = Vec::from("\u{feff}".as_bytes());
    {
        let mut writer = csv::Writer::from_writer(&mut out);
        writer.write_record(columns).map_err(ServiceError::internal)?;
        for row in rows {
            writer
                .write_record(row.iter().map(|c| defuse(c).into_owned()))
                .map_err(ServiceError::internal)?;
        }
        writer.flush().map_err(ServiceError::internal)?;
    }
    Ok(out)
}

/// A cell a spreadsheet will not run as a formula.
fn defuse(cell: &str) -> std::borrow::Cow<'_, str> {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}").into()
    } else {
        cell.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_shown_as_text() {
        assert_eq!(defuse("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(defuse("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(defuse("Replace valve"), "Replace valve");
    }
}
