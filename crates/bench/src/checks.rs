//! What each scenario checks about its own result, so that a run which produced numbers from a
//! broken exchange (records that never arrived, errors, absurd byte counts) fails instead of
//! printing a table. The smoke run counts scenarios whose checks all held.

use std::fmt::Display;

/// The sanity checks of one scenario run.
#[derive(Debug)]
pub struct Checks {
    pub scenario: &'static str,
    held: usize,
    failures: Vec<String>,
}

impl Checks {
    pub fn new(scenario: &'static str) -> Self {
        Self {
            scenario,
            held: 0,
            failures: Vec::new(),
        }
    }

    /// Records whether `ok` held; `what` says what was expected and what was found.
    pub fn that(&mut self, ok: bool, what: impl FnOnce() -> String) {
        if ok {
            self.held += 1;
        } else {
            self.failures.push(what());
        }
    }

    /// `value` must equal `expected`.
    pub fn equal<T: PartialEq + Display>(&mut self, what: &str, value: T, expected: T) {
        let ok = value == expected;
        self.that(ok, || format!("{what}: {value}, expected {expected}"));
    }

    /// `value` must be positive and no more than `bound` (a generous ceiling, not a target).
    pub fn within(&mut self, what: &str, value: f64, bound: f64) {
        let ok = value.is_finite() && value > 0.0 && value <= bound;
        self.that(ok, || {
            format!("{what}: {value}, expected more than 0 and at most {bound}")
        });
    }

    /// A ratio to a baseline measured in the same run must be at least `floor`. Floors sit at
    /// about 0.6 of what an idle run gives (docs/BENCHMARKS.md), so a path that became twice as
    /// slow fails while a busy machine, which slows both sides of a ratio, does not.
    pub fn at_least(&mut self, what: &str, value: f64, floor: f64) {
        let ok = value.is_finite() && value >= floor;
        self.that(ok, || format!("{what}: {value:.2}, expected at least {floor}"));
    }

    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }

    /// One line per failure, or one line saying how many checks held.
    pub fn print(&self) {
        if self.passed() {
            println!("\n{}: {} checks held", self.scenario, self.held);
        } else {
            for failure in &self.failures {
                println!("\n{}: CHECK FAILED: {failure}", self.scenario);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_check_fails_the_scenario_and_says_what_was_found() {
        let mut checks = Checks::new("wire");
        checks.equal("records accepted", 3, 3);
        checks.within("idle sync bodies, bytes", 250.0, 1_000.0);
        assert!(checks.passed());
        checks.within("idle sync bodies, bytes", 0.0, 1_000.0);
        checks.within("new JSEA bodies, bytes", f64::NAN, 64_000.0);
        checks.equal("records accepted", 2, 3);
        assert!(!checks.passed());
        assert_eq!(checks.failures.len(), 3);
        checks.at_least("Muster ÷ plain JSON", 0.4, 0.3);
        assert_eq!(checks.failures.len(), 3);
        checks.at_least("Muster ÷ plain JSON", 0.2, 0.3);
        checks.at_least("Muster ÷ plain JSON", f64::NAN, 0.3);
        assert_eq!(checks.failures.len(), 5);
        assert!(checks.failures[3].contains("0.20, expected at least 0.3"));
        assert!(checks.failures[2].contains("records accepted: 2, expected 3"));
    }
}
