//! `fault-device STORE SEED FIRST`: a phone that writes edits to its store in a loop, numbered from
//! FIRST, and prints `committed <n> <record id>` after each edit's transaction has returned, until
//! it is killed. Edit n either creates a record labelled `edit n` (JSEA task or near-miss text) or
//! sets a JSEA's muster point to `edit n`.
//! The fault tests SIGKILL it at random moments and then check what the store still holds.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sync_core::model::Body;
use sync_core::{Profile, Store, sample};

fn main() {
    let mut args = std::env::args().skip(1);
    let number = |arg: Option<String>| arg.and_then(|s| s.parse::<u64>().ok());
    let (Some(path), Some(seed), Some(first)) = (args.next(), number(args.next()), number(args.next()))
    else {
        eprintln!("usage: fault-device STORE SEED FIRST");
        std::process::exit(2);
    };
    let mut store = Store::open(&path).unwrap_or_else(|e| fail(&format!("cannot open {path}: {e}")));
    if store.profile().is_none() {
        store
            .sign_in(Profile {
                user_id: "device-user".into(),
                tenant_id: "device-tenant".into(),
                display_name: "Device User".into(),
            })
            .unwrap_or_else(|e| fail(&format!("cannot sign in: {e}")));
    }
    let mut rng = StdRng::seed_from_u64(seed);
    // JSEAs from before a restart are edited too: recovery must have kept them editable.
    let mut jseas: Vec<String> = Vec::new();
    for id in store.record_ids().unwrap_or_else(|e| fail(&format!("list: {e}"))) {
        let view = store
            .record(&id)
            .unwrap_or_else(|e| fail(&format!("read {id}: {e}")));
        if matches!(view.record.body, Body::Jsea(_)) {
            jseas.push(id);
        }
    }
    for n in first.. {
        let stamp = sync_core::Stamp::new(1_795_000_000_000 + n as i64, n as i64, "boot");
        let id = if jseas.is_empty() || rng.random_bool(0.3) {
            let body = if rng.random_bool(0.5) {
                let mut jsea = sample::jsea();
                jsea.task = format!("edit {n}");
                Body::Jsea(jsea)
            } else {
                let mut near_miss = sample::near_miss(n as i64);
                near_miss.what_happened = format!("edit {n}");
                Body::NearMiss(near_miss)
            };
            let is_jsea = matches!(body, Body::Jsea(_));
            let id = store
                .create("site", None, body, stamp)
                .unwrap_or_else(|e| fail(&format!("create: {e}")));
            if is_jsea {
                jseas.push(id.clone());
            }
            id
        } else {
            let id = jseas[rng.random_range(0..jseas.len())].clone();
            store
                .edit(&id, |r| {
                    if let Body::Jsea(j) = &mut r.body {
                        j.muster_point = format!("edit {n}");
                    }
                    Ok(())
                })
                .unwrap_or_else(|e| fail(&format!("edit: {e}")));
            id
        };
        // Stdout is line-buffered: the line leaves the process as soon as it is printed.
        println!("committed {n} {id}");
    }
}

fn fail(message: &str) -> ! {
    eprintln!("fault-device: {message}");
    std::process::exit(1);
}
