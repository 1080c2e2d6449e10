//! The office and supervisor web pages in a real browser: Debian's headless Chromium, driven
//! through its chromedriver, against a real server on 127.0.0.1:0 that phones sync with.
//!
//! Each test starts its own server, chromedriver and browser, so they run in parallel. Every page a
//! test visits is saved at 390 px and 1280 px wide under `target/screenshots/` for a person to
//! look at. Chromium comes from apt (`scripts/install-chromium.sh`); nothing is downloaded.

// A test target's root file finds its modules next to it; these live in `web/`.
#[path = "web/harness.rs"]
mod harness;

#[path = "web/actions.rs"]
mod actions;
#[path = "web/approvals.rs"]
mod approvals;
#[path = "web/flags.rs"]
mod flags;
#[path = "web/inspections.rs"]
mod inspections;
#[path = "web/people.rs"]
mod people;
#[path = "web/program.rs"]
mod program;
#[path = "web/readiness.rs"]
mod readiness;
#[path = "web/records.rs"]
mod records;
#[path = "web/session.rs"]
mod session;
#[path = "web/training.rs"]
mod training;
