//! Bytes on the wire (request and response bodies) for the sync paths, with 1,000 records on the
//! device: a new JSEA, a one-field edit, and a sync where nothing changed.
//!
//! Run: `cargo bench -p e2e-tests --bench wire_bytes`

use e2e_tests::{Phone, TestServer, at};
use sync_core::model::Body;
use sync_core::protocol::Role;
use sync_core::sample;

#[tokio::main]
async fn main() {
    let records: usize = std::env::var("RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000);
    let server = TestServer::start().await;
    let company = server.company("Acme", &[("lead@acme.test", Role::Worker, &[0])]);
    let dir = tempfile::tempdir().expect("dir");
    let mut phone = Phone::sign_in(&server, &dir, "lead@acme.test").await;
    for i in 0..records {
        let body = if i % 2 == 0 {
            Body::Jsea(sample::jsea())
        } else {
            Body::NearMiss(sample::near_miss(1 + i as i64))
        };
        phone
            .store
            .create(&company.site_a, None, body, at(i as i64))
            .expect("create");
    }
    let cold = phone.sync().await;

    let id = phone
        .store
        .create(&company.site_a, None, Body::Jsea(sample::jsea()), at(5_000))
        .expect("create");
    let new_jsea = phone.sync().await;
    let json = serde_json::to_vec(&phone.store.record(&id).expect("view").record).expect("json");

    phone
        .store
        .edit(&id, |r| {
            let Body::Jsea(j) = &mut r.body else {
                unreachable!()
            };
            j.muster_point = "South gate".into();
            Ok(())
        })
        .expect("edit");
    let edit = phone.sync().await;
    let idle = phone.sync().await;

    println!("records on the device: {records}");
    println!("| path | round trips | up (bytes) | down (bytes) | total |");
    println!("| --- | ---: | ---: | ---: | ---: |");
    for (name, r) in [
        ("first push of all records", &cold),
        ("(a) a new JSEA", &new_jsea),
        ("(b) a one-field edit", &edit),
        ("(c) nothing changed", &idle),
    ] {
        println!(
            "| {name} | {} | {} | {} | {} |",
            r.round_trips,
            r.bytes_up,
            r.bytes_down,
            r.bytes_up + r.bytes_down
        );
    }
    println!("plain JSON of the new JSEA: {} bytes", json.len());
    server.stop().await;
}
