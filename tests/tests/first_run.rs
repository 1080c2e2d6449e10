//! First run, as a person meets it: `muster-server` on an empty data directory prints a one-time
//! set-up link that creates the company and its first admin exactly once; `--init-admin` does the
//! same from the command line and prints the password once. Both run the real server binary
//! (`fault-server`, the same `server::serve` as `muster-server`) as a child process.

use e2e_tests::faults::free_port;
use e2e_tests::web_sign_in;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const BINARY: &str = env!("CARGO_BIN_EXE_fault-server");

/// The server as a child process, with its standard output read line by line on a thread.
struct Server {
    child: Child,
    url: String,
    lines: mpsc::Receiver<String>,
}

impl Server {
    fn start(data_dir: &std::path::Path, extra: &[&str]) -> Self {
        let port = free_port();
        let mut child = Command::new(BINARY)
            .args(["--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
            .arg(data_dir)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the server");
        let stdout = child.stdout.take().expect("stdout");
        let (send, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if send.send(line).is_err() {
                    return;
                }
            }
        });
        Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
            lines,
        }
    }

    /// The first printed line containing `needle`, waiting up to a minute (a debug build hashes
    /// passwords slowly).
    fn line_with(&self, needle: &str) -> String {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return line,
                Ok(_) => {}
                Err(_) => break,
            }
        }
        panic!("the server printed no line with {needle:?}");
    }

    /// Everything printed so far, without waiting.
    fn printed(&self) -> Vec<String> {
        self.lines.try_iter().collect()
    }

    async fn wait_until_healthy(&self) {
        let http = client();
        for _ in 0..200 {
            if let Ok(response) = http.get(format!("{}/healthz", self.url)).send().await
                && response.status() == 200
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the server at {} never answered /healthz", self.url);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn client() -> reqwest::Client {
    // reqwest is built without a default TLS provider in this workspace: install the core's.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(60))
        .build()
        .expect("client")
}

async fn api_login(url: &str, email: &str, password: &str) -> reqwest::Response {
    client()
        .post(format!("{url}/v1/auth/login"))
        .json(&serde_json::json!({"email": email, "password": password,
            "device_id": "first-run-phone", "device_name": "Phone"}))
        .send()
        .await
        .expect("login")
}

async fn setup_post(server: &Server, fields: &[(&str, &str)]) -> reqwest::Response {
    client()
        .post(format!("{}/setup", server.url))
        .header("origin", &server.url)
        .form(fields)
        .send()
        .await
        .expect("post /setup")
}

#[tokio::test(flavor = "multi_thread")]
async fn an_empty_server_prints_a_set_up_link_that_creates_the_company_once() {
    let dir = tempfile::tempdir().expect("dir");
    let server = Server::start(dir.path(), &[]);
    let line = server.line_with("/setup?token=");
    let link = line.trim().to_owned();
    assert!(
        link.starts_with(&server.url),
        "the link points at this server: {link}"
    );
    let token = link.split("token=").nth(1).expect("token").to_owned();
    server.wait_until_healthy().await;
    let http = client();

    let page = http.get(&link).send().await.expect("get link");
    assert_eq!(page.status(), 200);
    assert!(page.text().await.expect("body").contains("id=\"setup\""));
    let forged = http
        .get(format!("{}/setup?token=not-the-token", server.url))
        .send()
        .await
        .expect("get");
    assert_eq!(forged.status(), 403, "a guessed token opens nothing");

    let good = [
        ("token", token.as_str()),
        ("company", "Northern Lights Well Servicing Ltd."),
        ("name", "Nora Office"),
        ("email", "nora@northern.test"),
        ("password", "a long enough password"),
    ];
    let wrong_token: Vec<(&str, &str)> = good
        .iter()
        .map(|&(k, v)| if k == "token" { (k, "wrong") } else { (k, v) })
        .collect();
    assert_eq!(setup_post(&server, &wrong_token).await.status(), 403);
    let weak: Vec<(&str, &str)> = good
        .iter()
        .map(|&(k, v)| if k == "password" { (k, "short") } else { (k, v) })
        .collect();
    let refused = setup_post(&server, &weak).await;
    assert_eq!(refused.status(), 400);
    let body = refused.text().await.expect("body");
    assert!(
        body.contains("role=\"alert\"") && body.contains("at least 10 characters"),
        "{body}"
    );
    assert!(
        body.contains("nora@northern.test"),
        "what the person typed is kept"
    );
    assert_eq!(
        api_login(&server.url, "nora@northern.test", "a long enough password")
            .await
            .status(),
        401,
        "nothing was created by the refused attempts"
    );

    let created = setup_post(&server, &good).await;
    assert_eq!(created.status(), 303);
    assert_eq!(created.headers()["location"], "/signin?done=company_created");
    let again = setup_post(&server, &good).await;
    assert_eq!(again.status(), 403, "the link works once");
    assert_eq!(http.get(&link).send().await.expect("get").status(), 403);

    let login = api_login(&server.url, "nora@northern.test", "a long enough password").await;
    assert_eq!(login.status(), 200);
    let login: serde_json::Value = login.json().await.expect("json");
    assert_eq!(login["user"]["role"], "admin");
    assert_eq!(login["user"]["name"], "Nora Office");

    // Started again on the same data: the company exists, so no link is printed.
    drop(server);
    let server = Server::start(dir.path(), &[]);
    server.wait_until_healthy().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let printed = server.printed();
    assert!(
        !printed.iter().any(|l| l.contains("/setup?token=")),
        "no set-up link once a company exists: {printed:?}"
    );
    let stale = client()
        .get(format!("{}/setup?token={token}", server.url))
        .send()
        .await
        .expect("get");
    assert_eq!(stale.status(), 403);
}

#[tokio::test(flavor = "multi_thread")]
async fn init_admin_creates_the_company_and_prints_its_password_once() {
    let dir = tempfile::tempdir().expect("dir");
    let args = [
        "--init-admin",
        "boss@prairie.test",
        "--company-name",
        "Prairie Pipeline Ltd.",
    ];
    let server = Server::start(dir.path(), &args);
    let line = server.line_with("with the password ");
    let password = line
        .split("with the password ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("password")
        .to_owned();
    server.wait_until_healthy().await;
    let login = api_login(&server.url, "boss@prairie.test", &password).await;
    assert_eq!(login.status(), 200);
    let login: serde_json::Value = login.json().await.expect("json");
    assert_eq!(login["user"]["role"], "admin");

    // The same in a browser: the sign-in page takes it and the admin's pages open.
    let cookie = web_sign_in(&server.url, "boss@prairie.test", &password).await;
    let people = client()
        .get(format!("{}/people", server.url))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("people");
    assert_eq!(people.status(), 200);
    assert!(people.text().await.expect("body").contains("boss@prairie.test"));

    // A second start with the flag changes nothing and prints no password.
    drop(server);
    let server = Server::start(dir.path(), &args);
    let line = server.line_with("--init-admin");
    assert!(line.contains("already has a company"), "{line}");
    server.wait_until_healthy().await;
    assert!(
        !server.printed().iter().any(|l| l.contains("with the password")),
        "the password is printed once"
    );
    assert_eq!(
        api_login(&server.url, "boss@prairie.test", &password)
            .await
            .status(),
        200,
        "the first password still works"
    );
}
