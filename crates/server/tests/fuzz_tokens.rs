//! Bearer tokens and refresh tokens from hostile or broken clients: random strings, mutated real
//! tokens, other algorithms (`none`, HS384/512, RS256 with an HMAC signature), malformed claims.
//! Nothing panics, every refusal is a 401 with a token code, and nothing but a token the server
//! issued is ever accepted.
//!
//! `MUSTER_FUZZ_CASES` sets the number of inputs per target; `scripts/fuzz.sh` runs the long
//! version and adds up the `fuzz-inputs` lines printed here. Inputs come from a seeded generator:
//! a failure prints its seed and input, and `MUSTER_FUZZ_SEED` replays it.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::Instant;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use server::auth::{Claims, Keys};
use server::store::NewUser;
use server::{AppState, launch_with_listener};
use sync_core::protocol::{LoginRequest, RefreshRequest, Role, TokenResponse};

const SECRET: &[u8] = b"fuzzing secret, at least 32 bytes long";

fn cases(default: u32) -> u32 {
    std::env::var("MUSTER_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn seeded(target: &str) -> (StdRng, u64) {
    let seed = std::env::var("MUSTER_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(rand::random);
    println!("{target}: seed {seed}");
    (StdRng::seed_from_u64(seed), seed)
}

fn now_s() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn claims() -> Claims {
    let now = now_s();
    Claims {
        sub: "user-7".into(),
        tenant: "tenant-3".into(),
        role: Role::Supervisor,
        device: "device-12".into(),
        exp: now + 600,
        iat: now,
    }
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A token with any header and payload JSON, signed by HMAC-SHA256 with `SECRET` (or unsigned).
fn forge(header: &str, payload: &str, signature: &[u8]) -> String {
    format!(
        "{}.{}.{}",
        b64(header.as_bytes()),
        b64(payload.as_bytes()),
        b64(signature)
    )
}

fn hs256(header: &str, payload: &str) -> String {
    let key = EncodingKey::from_secret(SECRET);
    let message = format!("{}.{}", b64(header.as_bytes()), b64(payload.as_bytes()));
    let signature = jsonwebtoken::crypto::sign(message.as_bytes(), &key, Algorithm::HS256).expect("sign");
    format!("{message}.{signature}")
}

/// Calls `verify`, turning a panic into a test failure that names the input.
fn verify(keys: &Keys, token: &str, seed: u64) -> Result<Claims, server::error::ApiError> {
    match catch_unwind(AssertUnwindSafe(|| keys.verify(token))) {
        Ok(result) => result,
        Err(_) => panic!("verify panicked on {token:?} (seed {seed})"),
    }
}

fn assert_refused(result: Result<Claims, server::error::ApiError>, token: &str) {
    match result {
        Ok(c) => panic!("accepted a token the server did not issue: {token:?} → {c:?}"),
        Err(e) => {
            assert_eq!(e.status, 401, "{token:?}: {e:?}");
            assert!(
                matches!(e.code, "token_invalid" | "token_expired"),
                "{token:?}: {e:?}"
            );
            assert!(!e.message.is_empty());
        }
    }
}

/// Damages a token the way a proxy, a truncating log or an attacker might.
fn mutate(rng: &mut StdRng, token: &str, others: &[String]) -> String {
    let mut bytes = token.as_bytes().to_vec();
    for _ in 0..rng.random_range(1..4) {
        if bytes.is_empty() {
            break;
        }
        let at = rng.random_range(0..bytes.len());
        match rng.random_range(0..8) {
            0 => bytes[at] ^= 1 << rng.random_range(0..7),
            1 => bytes[at] = b"ABCxyz019-_.=+/ \t\0"[rng.random_range(0..18)],
            2 => bytes.truncate(at),
            3 => {
                bytes.insert(at, b'.');
            }
            4 => {
                // A segment from another real token put in place of this one's.
                let other = &others[rng.random_range(0..others.len())];
                let theirs: Vec<&str> = other.split('.').collect();
                let mut mine: Vec<String> = String::from_utf8_lossy(&bytes)
                    .split('.')
                    .map(str::to_owned)
                    .collect();
                let i = rng.random_range(0..mine.len().min(theirs.len()).max(1));
                if let (Some(slot), Some(piece)) = (mine.get_mut(i), theirs.get(i)) {
                    *slot = (*piece).to_owned();
                }
                bytes = mine.join(".").into_bytes();
            }
            5 => bytes.extend_from_slice(&bytes.clone()[at..]),
            6 => bytes.insert(at, rng.random()),
            _ => {
                bytes.remove(at);
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

fn random_string(rng: &mut StdRng) -> String {
    let len = rng.random_range(0..200);
    match rng.random_range(0..3) {
        // Bytes from the alphabet JWTs are made of, with dots.
        0 => (0..len)
            .map(|_| {
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."[rng.random_range(0..65)]
                    as char
            })
            .collect(),
        // Any characters at all.
        1 => (0..len).map(|_| rng.random::<char>()).collect(),
        // Three base64 segments of random bytes.
        _ => (0..3)
            .map(|_| {
                let n = rng.random_range(0..64);
                b64(&(0..n).map(|_| rng.random()).collect::<Vec<u8>>())
            })
            .collect::<Vec<_>>()
            .join("."),
    }
}

#[test]
fn bearer_tokens_other_than_the_issued_one_are_refused_without_panicking() {
    let keys = Keys::from_secret(SECRET);
    let issued = claims();
    let token = keys.issue(&issued).expect("issue");
    assert_eq!(keys.verify(&token).expect("the issued token verifies"), issued);
    let mut issued_claims = vec![issued.clone()];
    let mut others: Vec<String> = (0..4)
        .map(|i| {
            let mut c = claims();
            c.role = Role::Admin;
            c.sub = format!("user-{i}");
            issued_claims.push(c.clone());
            keys.issue(&c).expect("issue")
        })
        .collect();
    let mut foreign = claims();
    foreign.role = Role::Admin;
    foreign.sub = "intruder".into();
    others.push(
        Keys::from_secret(b"another server's secret, 32 bytes!")
            .issue(&foreign)
            .expect("issue"),
    );
    let (mut rng, seed) = seeded("bearer");
    let started = Instant::now();
    let total = cases(20_000);
    for i in 0..total {
        let input = if i % 3 == 0 {
            random_string(&mut rng)
        } else {
            mutate(&mut rng, &token, &others)
        };
        let result = verify(&keys, &input, seed);
        if input == token {
            continue;
        }
        match result {
            // A changed token may only verify if it is still, in effect, a token this server
            // issued (a segment swapped for the same segment of another of its tokens).
            Ok(c) => assert!(
                issued_claims.contains(&c),
                "mutated token {input:?} verified as claims never issued: {c:?} (seed {seed})"
            ),
            Err(_) => assert_refused(result, &input),
        }
    }
    println!(
        "fuzz-inputs bearer: {total} inputs in {:.1}s",
        started.elapsed().as_secs_f64()
    );
}

#[test]
fn other_algorithms_and_malformed_claims_are_refused() {
    let keys = Keys::from_secret(SECRET);
    // One set of claims for the whole test: `claims()` reads the clock, and two calls can fall
    // either side of a second boundary.
    let expected = claims();
    let payload = serde_json::to_string(&expected).expect("json");
    let mut refused = Vec::new();
    // Algorithms the server does not use, however they are signed.
    refused.push(forge(r#"{"alg":"none","typ":"JWT"}"#, &payload, b""));
    refused.push(forge(r#"{"alg":"None"}"#, &payload, b""));
    refused.push(format!(
        "{}.{}.",
        b64(br#"{"alg":"none"}"#),
        b64(payload.as_bytes())
    ));
    for alg in [Algorithm::HS384, Algorithm::HS512] {
        let key = EncodingKey::from_secret(SECRET);
        refused.push(jsonwebtoken::encode(&Header::new(alg), &claims(), &key).expect("encode"));
    }
    // RS256 / ES256 / EdDSA headers over an HMAC signature made with the shared secret: the
    // classic algorithm confusion.
    for alg in ["RS256", "ES256", "EdDSA", "PS256", "hs256", "HS256 ", ""] {
        let header = format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#);
        let message = format!("{}.{}", b64(header.as_bytes()), b64(payload.as_bytes()));
        let signature = jsonwebtoken::crypto::sign(
            message.as_bytes(),
            &EncodingKey::from_secret(SECRET),
            Algorithm::HS256,
        )
        .expect("sign");
        refused.push(format!("{message}.{signature}"));
    }
    refused.push(forge(r#"{"typ":"JWT"}"#, &payload, b"sig"));
    refused.push(forge("not json", &payload, b"sig"));
    // Correctly signed HS256 tokens whose claims are not acceptable.
    let header = r#"{"alg":"HS256","typ":"JWT"}"#;
    let exp = now_s() + 600;
    for body in [
        r#"{"sub":"u","tenant":"t","role":"worker","device":"d","iat":0}"#.to_owned(),
        format!(r#"{{"sub":"u","tenant":"t","role":"worker","device":"d","exp":"{exp}","iat":0}}"#),
        r#"{"sub":"u","tenant":"t","role":"worker","device":"d","exp":1e300,"iat":0}"#.to_owned(),
        r#"{"sub":"u","tenant":"t","role":"worker","device":"d","exp":-1,"iat":0}"#.to_owned(),
        format!(
            r#"{{"sub":"u","tenant":"t","role":"worker","device":"d","exp":{},"iat":0}}"#,
            now_s() - 1
        ),
        format!(r#"{{"sub":"u","tenant":"t","role":"root","device":"d","exp":{exp},"iat":0}}"#),
        format!(r#"{{"tenant":"t","role":"worker","device":"d","exp":{exp},"iat":0}}"#),
        format!(r#"{{"sub":7,"tenant":"t","role":"worker","device":"d","exp":{exp},"iat":0}}"#),
        format!(r#"{{"sub":"u","tenant":"t","role":"worker","exp":{exp},"iat":0}}"#),
        "[]".to_owned(),
        "null".to_owned(),
        format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)),
        format!(r#"{{"sub":"{}","exp":{exp}}}"#, "x".repeat(1 << 20)),
    ] {
        refused.push(hs256(header, &body));
    }
    // A header that is huge or deeply nested must fail as cleanly as a short one.
    refused.push(hs256(
        &format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)),
        &payload,
    ));
    for token in &refused {
        let result = verify(&keys, token, 0);
        assert_refused(result, &token[..token.len().min(120)]);
    }
    // The same claims, properly signed HS256, are accepted: the refusals above are about form,
    // not about extra header fields (a huge `kid` is ignored, not a crash).
    assert_eq!(keys.verify(&hs256(header, &payload)).expect("valid"), expected);
    let long_kid = format!(r#"{{"alg":"HS256","kid":"{}"}}"#, "k".repeat(100_000));
    assert_eq!(keys.verify(&hs256(&long_kid, &payload)).expect("valid"), expected);
    println!("fuzz-inputs algorithms: {} inputs", refused.len());
}

/// RFC 7515 §4.1.11: a header listing critical extensions the recipient does not understand is
/// refused, even when the signature, algorithm and claims are all good.
#[test]
fn a_header_with_critical_extensions_is_refused() {
    let keys = Keys::from_secret(SECRET);
    let expected = claims();
    let payload = serde_json::to_string(&expected).expect("json");
    for header in [
        r#"{"alg":"HS256","typ":"JWT","crit":["exp"]}"#,
        r#"{"alg":"HS256","crit":["b64"],"b64":false}"#,
        r#"{"alg":"HS256","crit":[]}"#,
    ] {
        let error = keys
            .verify(&hs256(header, &payload))
            .expect_err("a crit header is refused");
        assert_eq!(error.code, "token_invalid", "{header}");
        assert!(error.message.contains("crit"), "{header}: {}", error.message);
    }
    let plain = r#"{"alg":"HS256","typ":"JWT"}"#;
    assert_eq!(keys.verify(&hs256(plain, &payload)).expect("valid"), expected);
}

/// A real server with one company, one person and their phone signed in.
async fn server_with_a_signed_in_phone() -> (String, TokenResponse, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("dir");
    let store = server::store::sqlite::SqliteStore::open(&dir.path().join("records.db")).expect("store");
    let company = server::store::DirectoryStore::create_company(&store, "Acme").expect("company");
    let site =
        server::store::DirectoryStore::create_site(&store, &company.id, "Site A", "system").expect("site");
    server::store::DirectoryStore::create_user(
        &store,
        &company.id,
        NewUser {
            email: "lead@acme.test".into(),
            name: "Lead".into(),
            role: Role::Supervisor,
            password_hash: server::auth::hash_password("correct horse").expect("hash"),
            sites: vec![site.id],
        },
        "system",
    )
    .expect("user");
    let state = AppState::new(Arc::new(store), SECRET);
    // The core's client installs the ring crypto provider that reqwest (built without one) needs.
    sync_core::sync::client::SyncClient::new(Default::default()).expect("client");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    tokio::spawn(launch_with_listener(state, listener, std::future::pending()));
    let tokens: TokenResponse = reqwest::Client::new()
        .post(format!("{url}/v1/auth/login"))
        .json(&LoginRequest {
            email: "lead@acme.test".into(),
            password: "correct horse".into(),
            device_id: "phone-1".into(),
            device_name: "Lead's phone".into(),
        })
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("tokens");
    (url, tokens, dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorization_headers_and_refresh_tokens_from_the_wire_are_refused_cleanly() {
    let (url, tokens, _dir) = server_with_a_signed_in_phone().await;
    let client = reqwest::Client::new();
    let (mut rng, seed) = seeded("wire");
    let started = Instant::now();
    let total = cases(1_000);
    let others = vec![tokens.access_token.clone(), tokens.refresh_token.clone()];
    let mut tried = 0u32;
    for i in 0..total {
        let header = match i % 4 {
            0 => random_string(&mut rng),
            1 => format!("Bearer {}", random_string(&mut rng)),
            _ => format!("Bearer {}", mutate(&mut rng, &tokens.access_token, &others)),
        };
        if header == format!("Bearer {}", tokens.access_token) {
            continue;
        }
        // Characters HTTP cannot carry are refused before they reach the server.
        let Ok(value) = reqwest::header::HeaderValue::from_str(&header) else {
            continue;
        };
        let response = client
            .get(format!("{url}/v1/admin/devices"))
            .header(reqwest::header::AUTHORIZATION, value)
            .send()
            .await
            .unwrap_or_else(|e| panic!("no answer for Authorization {header:?} (seed {seed}): {e}"));
        let status = response.status().as_u16();
        let body: serde_json::Value = response.json().await.expect("a JSON error body");
        let code = body["error"]["code"].as_str().unwrap_or_default().to_owned();
        // A mutated token that is still the issued one (say, a trailing space trimmed) may pass
        // authentication; the supervisor is then refused the admin page, never served it.
        // A device over its request rate is refused too (429), as cleanly.
        assert!(
            (status == 401 && matches!(code.as_str(), "token_invalid" | "token_expired" | "token_missing"))
                || (status == 403 && code == "forbidden")
                || (status == 429 && !code.is_empty()),
            "Authorization {header:?} → {status} {body} (seed {seed})"
        );
        tried += 1;

        let refresh = match i % 3 {
            0 => random_string(&mut rng),
            _ => mutate(&mut rng, &tokens.refresh_token, &others),
        };
        if refresh == tokens.refresh_token {
            continue;
        }
        let response = client
            .post(format!("{url}/v1/auth/refresh"))
            .json(&RefreshRequest {
                refresh_token: refresh.clone(),
                device_id: None,
            })
            .send()
            .await
            .unwrap_or_else(|e| panic!("no answer for refresh token {refresh:?} (seed {seed}): {e}"));
        let status = response.status().as_u16();
        let body: serde_json::Value = response.json().await.expect("a JSON error body");
        assert_eq!(status, 401, "refresh token {refresh:?} → {body} (seed {seed})");
        assert_eq!(
            body["error"]["code"], "refresh_token_invalid",
            "{refresh:?}: {body}"
        );
        tried += 1;
    }
    // The genuine refresh token still works: none of the above used it up or revoked the device.
    let response = client
        .post(format!("{url}/v1/auth/refresh"))
        .json(&RefreshRequest {
            refresh_token: tokens.refresh_token.clone(),
            device_id: None,
        })
        .send()
        .await
        .expect("refresh");
    assert_eq!(response.status().as_u16(), 200);
    println!(
        "fuzz-inputs wire: {tried} inputs in {:.1}s",
        started.elapsed().as_secs_f64()
    );
}
