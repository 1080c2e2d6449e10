//! A database of its own for each test that needs PostgreSQL: created on the server
//! `MUSTER_TEST_POSTGRES` names (default `postgres://postgres@127.0.0.1:5432/postgres`, the
//! machine's trust-auth server) and dropped when the test ends.
//!
//! When that server cannot be reached, [`ScratchDatabase::create`] answers `None` and says on
//! stderr that the test was skipped, except under `CI=true`, where a PostgreSQL test that
//! cannot run is a failure (`.ci/run` starts the server first).

use std::sync::atomic::{AtomicU64, Ordering};

use super::DatabaseUrl;

/// The server the tests' databases are made on.
pub fn test_server_url() -> String {
    std::env::var("MUSTER_TEST_POSTGRES")
        .ok()
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A database made for one test and dropped (with every connection to it) when this is dropped.
#[derive(Debug)]
pub struct ScratchDatabase {
    server: String,
    name: String,
    url: DatabaseUrl,
}

impl ScratchDatabase {
    /// A new, empty database; `None` (the test is skipped, said on stderr) when no PostgreSQL
    /// server answers, unless `CI=true`, where that panics.
    pub fn create(test: &str) -> Option<Self> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let server = test_server_url();
        let name = format!(
            "muster_test_{}_{}_{:08x}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed),
            rand::random::<u32>()
        );
        // Connected, used and closed on one side of `off_async`: closing blocks too.
        let created = super::off_async(|| {
            let mut admin = postgres::Client::connect(&server, postgres::NoTls)?;
            admin.batch_execute(&format!("CREATE DATABASE {name}"))
        });
        match created {
            Ok(()) => {}
            Err(e) if e.as_db_error().is_some() => {
                panic!("cannot create the test database {name}: {e}")
            }
            Err(e) => {
                let why = format!(
                    "PostgreSQL at {} is unreachable ({e})",
                    super::redact_password(&server)
                );
                if std::env::var("CI").is_ok_and(|v| v == "true") {
                    panic!("{why}; under CI=true the PostgreSQL tests must run");
                }
                eprintln!("SKIPPED {test}: {why}. Start PostgreSQL or set MUSTER_TEST_POSTGRES to run it.");
                return None;
            }
        }
        let url = DatabaseUrl::new(with_database(&server, &name));
        Some(Self { server, name, url })
    }

    pub fn url(&self) -> &DatabaseUrl {
        &self.url
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        let dropped = super::off_async(|| {
            let mut admin = postgres::Client::connect(&self.server, postgres::NoTls)?;
            // Closed before returning: its runtime must not be dropped on an async thread.
            let dropped = admin.batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
            drop(admin);
            dropped
        });
        if let Err(e) = dropped {
            eprintln!("could not drop the test database {}: {e}", self.name);
        }
    }
}

/// `server`'s URL with its database replaced by `database`.
fn with_database(server: &str, database: &str) -> String {
    let (base, query) = match server.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (server, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let base = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{base}/{database}?{query}"),
        None => format!("{base}/{database}"),
    }
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn a_test_database_url_keeps_the_server_and_its_options() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "t1"),
            "postgres://postgres@127.0.0.1:5432/t1"
        );
        assert_eq!(with_database("postgres://h", "t1"), "postgres://h/t1");
        assert_eq!(
            with_database("postgres://u:p@h/db?sslmode=disable", "t1"),
            "postgres://u:p@h/t1?sslmode=disable"
        );
    }
}
