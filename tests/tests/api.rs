//! The HTTP edge: bad input gets a clear, machine-readable 4xx and stores nothing; forged tokens
//! are refused; the OpenAPI document matches the endpoints that exist; health and limits answer.

use e2e_tests::{Phone, TestServer, at};
use sync_core::model::Body;
use sync_core::protocol::{self, ClockSample, PROTOCOL_VERSION, Role, SYNC_CONTENT_TYPE, SyncRequest};
use sync_core::sample;

async fn setup() -> (TestServer, e2e_tests::Company, String, tempfile::TempDir) {
    let server = TestServer::start().await;
    let company = server.company(
        "Acme Energy",
        &[
            ("lead@acme.test", Role::Worker, &[0]),
            ("office@acme.test", Role::Admin, &[]),
        ],
    );
    let dir = tempfile::tempdir().expect("dir");
    let phone = Phone::sign_in(&server, &dir, "lead@acme.test").await;
    let token = phone.store.credentials().expect("c").expect("c").access_token;
    (server, company, token, dir)
}

async fn post_sync(
    server: &TestServer,
    token: &str,
    content_type: &str,
    body: Vec<u8>,
) -> (u16, serde_json::Value) {
    let response = reqwest::Client::new()
        .post(format!("{}/v1/sync", server.url))
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .expect("post");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(serde_json::Value::Null))
}

fn request(pushes: Vec<sync_core::protocol::DocPush>) -> SyncRequest {
    SyncRequest {
        version: PROTOCOL_VERSION,
        cursor: 0,
        cursor_check: 0,
        clock: ClockSample {
            wall_ms: 1,
            monotonic_ms: 1,
            boot_id: "b".into(),
            last_round_trip_ms: 0,
        },
        pushes,
        doc_sync: vec![],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_oversized_and_unknown_version_bodies_get_clear_errors() {
    let (server, company, token, _dir) = setup().await;

    let (status, body) = post_sync(
        &server,
        &token,
        SYNC_CONTENT_TYPE,
        b"\x01garbage that is not postcard".to_vec(),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("malformed_sync_message")),
        "{body}"
    );

    let mut future = protocol::encode(&request(vec![]));
    future[0] = 9; // protocol version 9
    let (status, body) = post_sync(&server, &token, SYNC_CONTENT_TYPE, future).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("unsupported_protocol_version"))
    );
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("version 9"),
        "{body}"
    );

    let (status, body) = post_sync(&server, &token, "application/json", b"{}".to_vec()).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (415, Some("unsupported_media_type"))
    );

    let huge = vec![0u8; server.state.limits.max_body_bytes as usize + 1];
    let (status, body) = post_sync(&server, &token, SYNC_CONTENT_TYPE, huge).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (413, Some("body_too_large")),
        "{body}"
    );

    // Changes that are not automerge, for a new record: refused per record, nothing stored.
    let bad = request(vec![sync_core::protocol::DocPush {
        doc_id: "abc".into(),
        base_heads: vec![],
        changes: b"nope".to_vec(),
    }]);
    let (status, _) = post_sync(&server, &token, SYNC_CONTENT_TYPE, protocol::encode(&bad)).await;
    assert_eq!(status, 200);
    assert!(
        server
            .store()
            .document(&company.id, "abc")
            .expect("lookup")
            .is_none()
    );
    assert_eq!(server.store().feed_head(&company.id).expect("head"), 0);

    // JSON endpoints: malformed JSON and oversized bodies.
    let http = reqwest::Client::new();
    let response = http
        .post(format!("{}/v1/auth/login", server.url))
        .header("content-type", "application/json")
        .body("{\"email\": ")
        .send()
        .await
        .expect("post");
    assert_eq!(response.status().as_u16(), 400);
    let body: serde_json::Value = response.json().await.expect("json");
    assert_eq!(body["error"]["code"], "malformed_json");
    let response = http
        .post(format!("{}/v1/auth/login", server.url))
        .header("content-type", "application/json")
        .body(format!("{{\"email\": \"{}\"}}", "x".repeat(100_000)))
        .send()
        .await
        .expect("post");
    assert_eq!(response.status().as_u16(), 413);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_missing_and_wrong_tokens_are_refused() {
    let (server, _company, token, _dir) = setup().await;
    let http = reqwest::Client::new();
    let records = format!("{}/v1/records", server.url);

    let no_token = http.get(&records).send().await.expect("get");
    assert_eq!(no_token.status().as_u16(), 401);
    let body: serde_json::Value = no_token.json().await.expect("json");
    assert_eq!(body["error"]["code"], "token_missing");

    // Same claims, signed with another key.
    let other = server::auth::Keys::from_secret(b"another server's secret, 32 bytes+");
    let claims = server.state.keys.verify(&token).expect("own token verifies");
    let forged = other.issue(&claims).expect("issue");
    let response = http.get(&records).bearer_auth(&forged).send().await.expect("get");
    assert_eq!(response.status().as_u16(), 401);

    // alg: none, claiming to be an admin.
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header = b64.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let mut admin_claims = serde_json::to_value(&claims).expect("json");
    admin_claims["role"] = "admin".into();
    let payload = b64.encode(admin_claims.to_string());
    let response = http
        .get(&records)
        .bearer_auth(format!("{header}.{payload}."))
        .send()
        .await
        .expect("get");
    assert_eq!(response.status().as_u16(), 401);
    let body: serde_json::Value = response.json().await.expect("json");
    assert_eq!(body["error"]["code"], "token_invalid");

    // A worker's real token on an admin endpoint.
    let response = http
        .get(format!("{}/v1/admin/users", server.url))
        .bearer_auth(&token)
        .send()
        .await
        .expect("get");
    assert_eq!(response.status().as_u16(), 403);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_creates_users_and_revokes_a_device() {
    let (server, company, lead_token, dir) = setup().await;
    let admin = Phone::sign_in(&server, &dir, "office@acme.test").await;
    let token = admin.store.credentials().expect("c").expect("c").access_token;
    let http = reqwest::Client::new();
    let created = http
        .post(format!("{}/v1/admin/users", server.url))
        .bearer_auth(&token)
        .json(&serde_json::json!({"email": "new@acme.test", "name": "New Hire", "role": "worker", "password": "long enough pw", "sites": [company.site_a]}))
        .send()
        .await
        .expect("post");
    assert_eq!(created.status().as_u16(), 201);
    let mut newbie = Phone::sign_in_with_password(&server, &dir, "new@acme.test", "long enough pw").await;
    newbie
        .store
        .create(&company.site_a, None, Body::NearMiss(sample::near_miss(3)), at(1))
        .expect("create");
    assert_eq!(newbie.sync().await.accepted, 1);

    let duplicate = http
        .post(format!("{}/v1/admin/users", server.url))
        .bearer_auth(&token)
        .json(&serde_json::json!({"email": "new@acme.test", "name": "Again", "role": "worker", "password": "long enough pw"}))
        .send()
        .await
        .expect("post");
    assert_eq!(duplicate.status().as_u16(), 409);

    let device = newbie.store.device_id().to_owned();
    let revoked = http
        .post(format!("{}/v1/admin/devices/{device}/revoke", server.url))
        .bearer_auth(&token)
        .send()
        .await
        .expect("post");
    assert_eq!(revoked.status().as_u16(), 204);
    let err = newbie
        .client
        .sync(&mut newbie.store, &|_| {})
        .await
        .expect_err("revoked");
    assert!(err.to_string().contains("revoked"), "{err}");
    // Still on the phone: a revoked device loses no record.
    assert_eq!(newbie.store.count_records().expect("count"), 1);

    let log = http
        .get(format!("{}/v1/admin/audit", server.url))
        .bearer_auth(&token)
        .send()
        .await
        .expect("get");
    let entries: serde_json::Value = log.json().await.expect("json");
    let actions: Vec<&str> = entries
        .as_array()
        .expect("log")
        .iter()
        .map(|e| e["action"].as_str().unwrap_or(""))
        .collect();
    assert!(
        actions.contains(&"user.created") && actions.contains(&"device.revoked"),
        "{actions:?}"
    );
    let _ = lead_token;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_lists_exactly_the_served_endpoints() {
    let (server, _company, token, _dir) = setup().await;
    let http = reqwest::Client::new();
    assert_eq!(
        http.get(format!("{}/healthz", server.url))
            .send()
            .await
            .expect("get")
            .status()
            .as_u16(),
        200
    );
    let limits: serde_json::Value = http
        .get(format!("{}/v1/sync/limits", server.url))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(limits["protocol_versions"], serde_json::json!([PROTOCOL_VERSION]));

    let doc: serde_json::Value = http
        .get(format!("{}/openapi.json", server.url))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert!(doc["openapi"].as_str().unwrap_or("").starts_with("3."));
    let mut documented = Vec::new();
    for (path, methods) in doc["paths"].as_object().expect("paths") {
        for method in methods.as_object().expect("methods").keys() {
            documented.push(format!("{} {path}", method.to_uppercase()));
        }
    }
    documented.sort();
    let expected = [
        "GET /healthz",
        "GET /v1/admin/audit",
        "GET /v1/admin/devices",
        "GET /v1/admin/users",
        "GET /v1/equipment",
        "GET /v1/inspection-schedules",
        "GET /v1/readiness",
        "GET /v1/readiness.csv",
        "GET /v1/records",
        "GET /v1/records.csv",
        "GET /v1/records/{id}",
        "GET /v1/sites",
        "GET /v1/sync/limits",
        "PATCH /v1/admin/users/{id}",
        "PATCH /v1/equipment/{unit_id}",
        "POST /v1/admin/devices/{id}/revoke",
        "POST /v1/admin/sites",
        "POST /v1/admin/users",
        "POST /v1/auth/login",
        "POST /v1/auth/refresh",
        "POST /v1/equipment",
        "POST /v1/inspection-schedules",
        "POST /v1/records/{id}/decision",
        "POST /v1/sync",
        "PUT /v1/admin/sites/{id}/boundary",
    ];
    assert_eq!(documented, expected);
    // Every documented endpoint is served (an unknown route would be 404 or 405).
    for entry in &expected {
        let (method, path) = entry.split_once(' ').expect("entry");
        let url = format!("{}{}", server.url, path.replace("{id}", "no-such-id"));
        let response = match method {
            "GET" => http.get(&url).bearer_auth(&token).send().await,
            "PUT" | "PATCH" => {
                let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
                http.request(method, &url)
                    .bearer_auth(&token)
                    .header("content-type", "application/json")
                    .body("{}")
                    .send()
                    .await
            }
            _ => {
                http.post(&url)
                    .bearer_auth(&token)
                    .header("content-type", "application/json")
                    .body("{}")
                    .send()
                    .await
            }
        }
        .expect("request");
        let status = response.status().as_u16();
        let body: serde_json::Value = response.json().await.unwrap_or(serde_json::Value::Null);
        let unrouted = status == 405 || (status == 404 && body["error"]["code"] != "not_found");
        assert!(!unrouted, "{entry} is documented but not served ({status})");
    }
    server.stop().await;
}
