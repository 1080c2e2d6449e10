//! The uniffi facade over sync-core for the iOS (Swift) and Android (Kotlin) shells.
//!
//! Thin by rule: objects wrap core objects, records and enums mirror core types, and there is no
//! business logic here. The full field-flow API arrives with the mobile issue; this crate already
//! builds as `lib`, `cdylib` and `staticlib` so the shells can link it.

uniffi::setup_scaffolding!();

/// Version of the Rust core the shell is linked against, for support screens and bug reports.
#[uniffi::export]
pub fn core_version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn reports_the_crate_version() {
        assert_eq!(super::core_version(), env!("CARGO_PKG_VERSION"));
    }
}
