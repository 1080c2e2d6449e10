//! Local store paths on a real SQLite file: create + save a typical JSEA, list 10,000 records from
//! the projection, open a store of 10,000 records.
//!
//! Run: `cargo bench -p sync-core --bench local_store`

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use sync_core::model::Body;
use sync_core::{ListFilter, Profile, Stamp, Store, sample};

fn profile(user: &str) -> Profile {
    Profile {
        user_id: user.into(),
        tenant_id: "acme".into(),
        display_name: user.into(),
    }
}

/// A typical JSEA: 3 steps, 6 hazards, 12 controls, 3 signatures.
fn typical_jsea() -> Body {
    let mut j = sample::jsea();
    for user in ["lead", "w1", "w2"] {
        j.crew.push(user.into());
    }
    let hash = j.content_hash();
    for user in ["lead", "w1", "w2"] {
        j.signatures.insert(
            user.into(),
            sync_core::model::Signature {
                user_id: user.into(),
                name: format!("{user} name"),
                content_hash: hash.clone(),
                stamp: Stamp::new(1_700_000_000_000, 5_000, "boot"),
            },
        );
    }
    Body::Jsea(j)
}

fn filled_store(dir: &tempfile::TempDir, n: usize) -> std::path::PathBuf {
    let path = dir.path().join(format!("store-{n}.db"));
    let mut store = Store::open(&path).expect("open");
    store.sign_in(profile("lead")).expect("sign in");
    let body = typical_jsea();
    for i in 0..n {
        let site = format!("site-{}", i % 7);
        let b = if i % 3 == 0 {
            Body::NearMiss(sample::near_miss(1_000 + i as i64))
        } else {
            body.clone()
        };
        store
            .create(
                &site,
                None,
                b,
                Stamp::new(1_700_000_000_000 + i as i64 * 60_000, 1, "boot"),
            )
            .expect("create");
    }
    path
}

fn benches(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = Store::open(dir.path().join("create.db")).expect("open");
    store.sign_in(profile("lead")).expect("sign in");
    let body = typical_jsea();
    c.bench_function("create_and_save_typical_jsea", |b| {
        b.iter_batched(
            || body.clone(),
            |body| {
                store
                    .create("site-a", None, body, Stamp::new(1_700_000_000_000, 1, "boot"))
                    .expect("create")
            },
            BatchSize::SmallInput,
        )
    });

    let path = filled_store(&dir, 10_000);
    let big = Store::open(&path).expect("open");
    c.bench_function("list_10k_from_projection", |b| {
        b.iter(|| black_box(big.list(&ListFilter::default()).expect("list")).len())
    });
    c.bench_function("list_10k_filtered_by_site", |b| {
        let filter = ListFilter {
            site_id: Some("site-3".into()),
            ..Default::default()
        };
        b.iter(|| black_box(big.list(&filter).expect("list")).len())
    });
    drop(big);
    c.bench_function("open_store_of_10k", |b| {
        b.iter(|| black_box(Store::open(&path).expect("open")))
    });
}

criterion_group! {
    name = local;
    config = Criterion::default().sample_size(30).measurement_time(std::time::Duration::from_secs(4));
    targets = benches
}
criterion_main!(local);
