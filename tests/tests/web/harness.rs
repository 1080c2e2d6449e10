//! The browser side of the web tests: a chromedriver child process per test, a headless Chromium
//! session on it, screenshots at phone and desktop widths, and helpers for the pages' common parts
//! (signing in, status messages, the session cookie). Servers, companies and phones come from the
//! e2e harness (`e2e_tests`).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use e2e_tests::{Company, Phone, TestServer, at};
use serde_json::json;
use sync_core::model::Body;
use sync_core::protocol::Role;
use sync_core::sample;
use thirtyfour::error::WebDriverErrorInner;
use thirtyfour::prelude::*;
use thirtyfour::{ChromeCapabilities, Cookie};

/// Debian's Chromium and the chromedriver of the same version (`scripts/install-chromium.sh`).
pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
pub const SESSION_COOKIE: &str = "muster_session";

pub const LEAD: &str = "lead@acme.test";
pub const WORKER: &str = "worker@acme.test";
pub const SUPER: &str = "super@acme.test";
pub const ADMIN: &str = "office@acme.test";

/// Acme's crew: a lead at site A, a worker at both sites, their supervisor and the office admin.
/// Everyone's password is [`e2e_tests::PASSWORD`].
pub fn acme(server: &TestServer) -> Company {
    server.company(
        "Acme Energy",
        &[
            (LEAD, Role::Worker, &[0]),
            (WORKER, Role::Worker, &[0, 1]),
            (SUPER, Role::Supervisor, &[0, 1]),
            (ADMIN, Role::Admin, &[]),
        ],
    )
}

/// A JSEA for `task` made on `phone` at `minute` past 06:00, signed and completed a few minutes
/// later; it waits for a supervisor's decision once the phone syncs.
pub fn completed_jsea(phone: &mut Phone, site: &str, task: &str, minute: i64) -> String {
    let id = new_jsea(phone, site, task, minute);
    phone.store.sign(&id, at(minute + 2)).expect("sign on");
    phone.store.complete(&id, at(minute + 3)).expect("complete");
    id
}

/// A draft JSEA for `task` (the sample one, retitled).
pub fn new_jsea(phone: &mut Phone, site: &str, task: &str, minute: i64) -> String {
    let mut jsea = sample::jsea();
    jsea.task = task.into();
    phone
        .store
        .create(site, None, Body::Jsea(jsea), at(minute))
        .expect("create JSEA")
}

/// The JSEA `id` as the phone holds it.
pub fn jsea_on(phone: &Phone, id: &str) -> sync_core::model::Jsea {
    match phone.store.record(id).expect("record on the phone").record.body {
        Body::Jsea(j) => j,
        other => panic!("not a JSEA: {other:?}"),
    }
}

/// A JSEA's status as the server stores it, read through the JSON API with `phone`'s token.
pub async fn status_on_server(server: &TestServer, phone: &Phone, id: &str) -> String {
    let token = phone
        .store
        .credentials()
        .expect("credentials")
        .expect("signed in")
        .access_token;
    let (status, detail) = e2e_tests::get_json(&format!("{}/v1/records/{id}", server.url), &token).await;
    assert_eq!(status, 200, "{detail}");
    detail["record"]["body"]["status"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// A chromedriver child process on a port of its own, in its own process group so that the
/// browsers it starts end with it.
#[derive(Debug)]
struct ChromeDriver {
    child: Child,
    port: u16,
}

impl ChromeDriver {
    async fn start() -> Self {
        let mut last_error = String::new();
        // A free port can be taken between asking and chromedriver binding it: try a few.
        for _ in 0..5 {
            let port = free_port();
            let child = {
                use std::os::unix::process::CommandExt;
                Command::new(CHROMEDRIVER)
                    .arg(format!("--port={port}"))
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::piped())
                    .process_group(0)
                    .spawn()
            };
            let child = match child {
                Ok(child) => child,
                Err(e) => panic!("cannot start {CHROMEDRIVER} (run scripts/install-chromium.sh): {e}"),
            };
            let mut driver = ChromeDriver { child, port };
            match driver.wait_ready().await {
                Ok(()) => return driver,
                Err(e) => last_error = e,
            }
        }
        panic!("chromedriver did not start: {last_error}")
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Waits until chromedriver's `/status` says it is ready.
    async fn wait_ready(&mut self) -> Result<(), String> {
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().map_err(|e| e.to_string())? {
                let mut stderr = String::new();
                if let Some(mut pipe) = self.child.stderr.take() {
                    use std::io::Read;
                    let _ = pipe.read_to_string(&mut stderr);
                }
                return Err(format!("chromedriver exited ({status}): {stderr}"));
            }
            if let Ok(response) = http.get(format!("{}/status", self.url())).send().await
                && let Ok(body) = response.json::<serde_json::Value>().await
                && body["value"]["ready"] == true
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err("no answer on /status within 20 s".into());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        // The whole group: chromedriver and any Chromium it left behind (a test that panicked
        // before quitting its session).
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// A headless Chromium session on a chromedriver of its own.
#[derive(Debug)]
pub struct Browser {
    // Dropped first: without an explicit `quit`, the session ends before its driver is killed.
    pub driver: WebDriver,
    chromedriver: ChromeDriver,
    /// The test's name, for its screenshots' file names.
    test: String,
}

impl std::ops::Deref for Browser {
    type Target = WebDriver;

    fn deref(&self) -> &WebDriver {
        &self.driver
    }
}

impl Browser {
    pub async fn start(test: &str) -> Browser {
        // The WebDriver client is a reqwest client, which needs the TLS provider installed even
        // for plain HTTP to 127.0.0.1.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let chromedriver = ChromeDriver::start().await;
        let mut caps = ChromeCapabilities::new();
        caps.set_binary(CHROMIUM).expect("binary");
        for arg in [
            "--headless=new",
            "--no-sandbox",
            "--disable-dev-shm-usage",
            "--window-size=1280,900",
        ] {
            caps.add_arg(arg).expect("arg");
        }
        // An alert stays open, so a test can see that none was opened.
        caps.set("unhandledPromptBehavior", "ignore")
            .expect("prompt behaviour");
        let driver = WebDriver::new(chromedriver.url(), caps)
            .await
            .expect("a Chromium session");
        Browser {
            driver,
            chromedriver,
            test: test.to_owned(),
        }
    }

    /// Ends the browser session, then chromedriver.
    pub async fn quit(self) {
        let Browser {
            driver, chromedriver, ..
        } = self;
        driver.quit().await.expect("quit the browser");
        drop(chromedriver);
    }

    /// Opens `path` on the server at `base`.
    pub async fn open(&self, base: &str, path: &str) {
        self.driver
            .goto(format!("{base}{path}"))
            .await
            .unwrap_or_else(|e| panic!("open {path}: {e}"));
    }

    /// The current address's path and query.
    pub async fn path(&self) -> String {
        let url = self.driver.current_url().await.expect("current url");
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        }
    }

    pub async fn h1(&self) -> String {
        self.text_of("h1").await.unwrap_or_default()
    }

    /// The text of the first element `css` selects, if there is one (no waiting: the pages are
    /// rendered on the server).
    pub async fn text_of(&self, css: &str) -> Option<String> {
        let found = self.driver.find_all(By::Css(css)).await.expect("find");
        match found.first() {
            Some(e) => Some(e.text().await.expect("text")),
            None => None,
        }
    }

    pub async fn count(&self, css: &str) -> usize {
        self.driver.find_all(By::Css(css)).await.expect("find").len()
    }

    pub async fn body_text(&self) -> String {
        self.text_of("body").await.unwrap_or_default()
    }

    /// The `<p role="status">` a successful form post leads to.
    pub async fn status_message(&self) -> Option<String> {
        self.text_of("p[role=status]").await
    }

    /// Values of `attribute` on every element `css` selects, in page order.
    pub async fn attrs(&self, css: &str, attribute: &str) -> Vec<String> {
        let mut out = Vec::new();
        for e in self.driver.find_all(By::Css(css)).await.expect("find") {
            out.push(e.attr(attribute).await.expect("attr").unwrap_or_default());
        }
        out
    }

    /// Types `text` into the form field `css` selects, replacing what was there.
    pub async fn fill(&self, css: &str, text: &str) {
        let field = self
            .driver
            .find(By::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no field {css}: {e}"));
        field.clear().await.expect("clear");
        field.send_keys(text).await.expect("type");
    }

    pub async fn click(&self, css: &str) {
        self.driver
            .find(By::Css(css))
            .await
            .unwrap_or_else(|e| panic!("nothing to click at {css}: {e}"))
            .click()
            .await
            .unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    /// Clicks what `css` selects (a submit button, a link) and waits for the next page to load:
    /// a click can return before the navigation it starts has finished.
    pub async fn click_to_load(&self, css: &str) {
        self.driver
            .execute("window.__musterPreviousPage = true;", Vec::new())
            .await
            .expect("mark the page");
        self.click(css).await;
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let loaded = self
                .driver
                .execute(
                    "return window.__musterPreviousPage === undefined && document.readyState === 'complete';",
                    Vec::new(),
                )
                .await
                .ok()
                .and_then(|r| r.convert::<bool>().ok());
            if loaded == Some(true) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "clicking {css} did not load a page within 15 s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Picks the option whose value is `value` in the `<select>` that `css` selects.
    pub async fn select(&self, css: &str, value: &str) {
        self.click(&format!("{css} option[value=\"{value}\"]")).await;
        let chosen = self
            .driver
            .find(By::Css(css))
            .await
            .expect("select")
            .prop("value")
            .await
            .expect("value");
        assert_eq!(chosen.as_deref(), Some(value), "{css} did not take {value}");
    }

    /// Signs in through the sign-in form and checks it worked: a signed-in page with its
    /// sign-out form.
    pub async fn sign_in(&self, base: &str, email: &str, password: &str) {
        self.open(base, "/signin").await;
        self.screenshot("signin").await;
        self.fill("form#signin input[name=email]", email).await;
        self.fill("form#signin input[name=password][type=password]", password)
            .await;
        self.click_to_load("form#signin button[type=submit]").await;
        let alert = self.text_of("p[role=alert]").await;
        assert!(
            alert.is_none() && self.count("form#signout").await == 1,
            "{email} did not get signed in: at {}, alert {alert:?}",
            self.path().await
        );
    }

    pub async fn sign_out(&self) {
        self.click_to_load("form#signout button[type=submit], form#signout input[type=submit]")
            .await;
    }

    /// The browser's session cookie.
    pub async fn session_cookie(&self) -> Cookie {
        self.driver
            .get_named_cookie(SESSION_COOKIE)
            .await
            .expect("the session cookie is set")
    }

    /// An HTTP client that presents this browser's session cookie and does not follow redirects.
    pub async fn http(&self, base: &str) -> CookieClient {
        CookieClient::new(base, &self.session_cookie().await.value)
    }

    /// Whether a JavaScript alert, confirm or prompt is open.
    pub async fn alert_open(&self) -> bool {
        match self.driver.get_alert_text().await {
            Ok(_) => true,
            Err(e) if matches!(e.as_inner(), WebDriverErrorInner::NoSuchAlert(_)) => false,
            Err(e) => panic!("asking for an alert: {e}"),
        }
    }

    /// Saves the page as `target/screenshots/<test>-<page>-<width>.png` at 390 and 1280 px wide,
    /// each the full height of the page. At 390 px the browser emulates a phone, so a page
    /// without a viewport meta tag shows as a phone would show it: shrunk. Prints a warning for
    /// a page wider than the screen.
    pub async fn screenshot(&self, page: &str) {
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).expect("screenshot directory");
        let cdp = self.driver.cdp();
        for width in [390_i64, 1280] {
            let mobile = width < 600;
            let metrics = |height: i64| json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile});
            cdp.send_raw("Emulation.setDeviceMetricsOverride", metrics(900))
                .await
                .expect("set the viewport");
            let size = self
                .driver
                .execute(
                    "const d = document.documentElement;
                     return [Math.max(d.scrollHeight, document.body ? document.body.scrollHeight : 0),
                             d.scrollWidth, window.innerWidth];",
                    Vec::new(),
                )
                .await
                .expect("page size")
                .convert::<(i64, i64, i64)>()
                .expect("three numbers");
            let (height, scroll_width, inner_width) = size;
            if scroll_width > inner_width {
                eprintln!(
                    "screenshot {}-{page}: at {width} px the page is {scroll_width} px wide (overflows)",
                    self.test
                );
            }
            cdp.send_raw(
                "Emulation.setDeviceMetricsOverride",
                metrics(height.clamp(200, 20_000)),
            )
            .await
            .expect("set the viewport");
            let shot = cdp
                .send_raw(
                    "Page.captureScreenshot",
                    json!({"format": "png", "captureBeyondViewport": true}),
                )
                .await
                .expect("screenshot");
            use base64::Engine;
            let png = base64::engine::general_purpose::STANDARD
                .decode(shot["data"].as_str().expect("png data"))
                .expect("base64");
            let path = dir.join(format!("{}-{page}-{width}.png", self.test));
            std::fs::write(&path, png).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        }
        cdp.send_raw("Emulation.clearDeviceMetricsOverride", json!({}))
            .await
            .expect("reset the viewport");
    }
}

/// `target/screenshots` at the workspace root.
pub fn screenshot_dir() -> PathBuf {
    let tests = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    tests
        .parent()
        .expect("the tests package sits in the workspace")
        .join("target")
        .join("screenshots")
}

/// An HTTP client carrying a session cookie, as the browser would send it. Redirects are not
/// followed, so a test sees them.
#[derive(Debug, Clone)]
pub struct CookieClient {
    http: reqwest::Client,
    base: String,
    cookie: String,
}

impl CookieClient {
    pub fn new(base: &str, session: &str) -> Self {
        let _ = rustls::crypto::ring::default_provider().install_default();
        Self {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            base: base.to_owned(),
            cookie: format!("{SESSION_COOKIE}={session}"),
        }
    }

    /// GETs `path_or_url` (a path on the server, or a whole address).
    pub async fn get(&self, path_or_url: &str) -> reqwest::Response {
        let url = if path_or_url.starts_with("http") {
            path_or_url.to_owned()
        } else {
            format!("{}{path_or_url}", self.base)
        };
        self.http
            .get(&url)
            .header(reqwest::header::COOKIE, &self.cookie)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {url}: {e}"))
    }
}

/// Where a redirect points, as a path (`Location` may be absolute).
pub fn location(response: &reqwest::Response) -> String {
    let value = response
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    match value.find("://") {
        Some(i) => {
            let rest = &value[i + 3..];
            rest.find('/').map_or("/", |j| &rest[j..]).to_owned()
        }
        None => value.to_owned(),
    }
}

/// A path without its query string.
pub fn without_query(path: &str) -> &str {
    path.split('?').next().unwrap_or(path)
}

/// Parses CSV text (RFC 4180: quoted fields, doubled quotes, line breaks inside quotes; a UTF-8
/// byte-order mark at the start is skipped) into rows of fields.
pub fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') if chars.peek() == Some(&'\n') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    rows
}

#[test]
fn csv_is_parsed_with_quotes_and_a_bom() {
    let rows = parse_csv("\u{feff}id,title\r\n1,\"a, \"\"b\"\"\nc\"\r\n2,plain\n");
    assert_eq!(
        rows,
        vec![
            vec!["id".to_owned(), "title".to_owned()],
            vec!["1".to_owned(), "a, \"b\"\nc".to_owned()],
            vec!["2".to_owned(), "plain".to_owned()],
        ]
    );
}
