//! `uniffi-bindgen`: generates the Swift, Kotlin and Python bindings for `muster_mobile` from the
//! built library. Kept out of `default-members` so ordinary builds never compile the generator;
//! `scripts/bindings.sh` builds and runs it.

fn main() {
    uniffi::uniffi_bindgen_main()
}
