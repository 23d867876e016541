//! A real browser for the console's tests: Debian's `chromium`, headless, driven over
//! WebDriver (W3C) by its `chromedriver`, both installed by the test when missing and we
//! may (root), started on loopback and stopped when dropped.
//!
//! A test that needs it and cannot start it fails: this never skips.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::servers::{free_port, is_root};

/// The W3C key of an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// The driver process, stopped when dropped (also when starting the browser fails).
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A headless Chromium session, ended (and its driver stopped) when dropped.
pub struct Browser {
    _driver: Driver,
    port: u16,
    session: String,
    _profile: tempfile::TempDir,
}

/// An element of the current page.
#[derive(Debug, Clone)]
pub struct Element(String);

fn which(name: &str) -> bool {
    Command::new("which").arg(name).output().is_ok_and(|o| o.status.success())
}

/// One HTTP/1.1 exchange with the driver on loopback: the status and the JSON answer.
fn exchange(
    port: u16,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> std::io::Result<(u16, Value)> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(120)))?;
    let body = body.map(Value::to_string).unwrap_or_default();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut r = BufReader::new(s);
    let mut status = String::new();
    r.read_line(&mut status)?;
    let code = status.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    let (mut length, mut chunked) = (None, false);
    loop {
        let mut line = String::new();
        if r.read_line(&mut line)? == 0 || line == "\r\n" {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse::<usize>().ok();
            } else if k.eq_ignore_ascii_case("transfer-encoding") {
                chunked = v.trim().eq_ignore_ascii_case("chunked");
            }
        }
    }
    let mut bytes = Vec::new();
    if chunked {
        loop {
            let mut size = String::new();
            r.read_line(&mut size)?;
            let n = usize::from_str_radix(size.trim().split(';').next().unwrap_or(""), 16)
                .map_err(|_| std::io::Error::other(format!("a bad chunk size {size:?}")))?;
            let start = bytes.len();
            bytes.resize(start + n, 0);
            r.read_exact(&mut bytes[start..])?;
            let mut end = String::new();
            r.read_line(&mut end)?;
            if n == 0 {
                break;
            }
        }
    } else if let Some(n) = length {
        bytes.resize(n, 0);
        r.read_exact(&mut bytes)?;
    } else {
        r.read_to_end(&mut bytes)?;
    }
    let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Ok((code, value))
}

impl Browser {
    /// Starts chromedriver and a headless Chromium that accepts the test server's
    /// self-signed certificate. Panics if it cannot.
    #[allow(clippy::panic, reason = "test helper: failing loudly is the point")]
    pub fn start() -> Browser {
        if !(which("chromium") && which("chromedriver")) && is_root() {
            let install = || {
                Command::new("apt-get")
                    .args(["install", "-y", "-q", "chromium", "chromium-driver"])
                    .env("DEBIAN_FRONTEND", "noninteractive")
                    .status()
                    .is_ok_and(|s| s.success())
            };
            if !install() {
                let _ = Command::new("apt-get").args(["update", "-q"]).status();
                install();
            }
        }
        if !(which("chromium") && which("chromedriver")) {
            panic!(
                "Chromium and its driver are not installed: apt-get install chromium chromium-driver"
            );
        }
        let port = free_port();
        let driver = Driver(
            Command::new("chromedriver")
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start chromedriver: {e}")),
        );
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if exchange(port, "GET", "/status", None)
                .is_ok_and(|(_, v)| v["value"]["ready"] == true)
            {
                break;
            }
            if Instant::now() > deadline {
                panic!("chromedriver did not become ready on port {port}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let profile = tempfile::Builder::new()
            .prefix("mlguard-chromium-")
            .tempdir()
            .unwrap_or_else(|e| panic!("no profile directory: {e}"));
        let mut args = vec![
            "--headless=new".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--window-size=1280,1000".to_owned(),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        if is_root() {
            args.push("--no-sandbox".to_owned());
        }
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "acceptInsecureCerts": true,
            "goog:chromeOptions": {"args": args, "binary": "/usr/bin/chromium"},
        }}});
        let (code, v) = exchange(port, "POST", "/session", Some(&caps))
            .unwrap_or_else(|e| panic!("cannot ask chromedriver for a session: {e}"));
        let Some(session) = v["value"]["sessionId"].as_str().map(str::to_owned) else {
            panic!("chromedriver gave no session ({code}): {v}");
        };
        Browser { _driver: driver, port, session, _profile: profile }
    }

    #[allow(clippy::panic, reason = "test helper: failing loudly is the point")]
    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let path = format!("/session/{}{path}", self.session);
        let (code, v) = exchange(self.port, method, &path, body.as_ref())
            .unwrap_or_else(|e| panic!("WebDriver {method} {path}: {e}"));
        if code != 200 {
            panic!("WebDriver {method} {path}: {code} {v}");
        }
        v["value"].clone()
    }

    /// Opens `url` and waits for it to load.
    pub fn goto(&self, url: &str) {
        self.call("POST", "/url", Some(json!({"url": url})));
    }

    /// The current address.
    pub fn url(&self) -> String {
        self.call("GET", "/url", None).as_str().unwrap_or_default().to_owned()
    }

    /// The page's title.
    pub fn title(&self) -> String {
        self.call("GET", "/title", None).as_str().unwrap_or_default().to_owned()
    }

    /// The page's markup as the browser holds it.
    pub fn source(&self) -> String {
        self.call("GET", "/source", None).as_str().unwrap_or_default().to_owned()
    }

    /// The elements matching a CSS selector.
    pub fn find_all(&self, css: &str) -> Vec<Element> {
        let v =
            self.call("POST", "/elements", Some(json!({"using": "css selector", "value": css})));
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| e[ELEMENT].as_str())
                    .map(|s| Element(s.to_owned()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The first element matching a CSS selector; panics if there is none.
    #[allow(clippy::panic, reason = "test helper: failing loudly is the point")]
    pub fn find(&self, css: &str) -> Element {
        self.find_all(css)
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("no {css:?} on {}:\n{}", self.url(), self.source()))
    }

    /// An element's rendered text.
    pub fn text(&self, e: &Element) -> String {
        self.call("GET", &format!("/element/{}/text", e.0), None)
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The visible text of the whole page.
    pub fn page_text(&self) -> String {
        let body = self.find("body");
        self.text(&body)
    }

    /// Types `text` into a field (after clearing it).
    pub fn fill(&self, css: &str, text: &str) {
        let e = self.find(css);
        self.call("POST", &format!("/element/{}/clear", e.0), Some(json!({})));
        self.call("POST", &format!("/element/{}/value", e.0), Some(json!({"text": text})));
    }

    /// Clicks the first element matching `css` (a link or a form's button), and waits
    /// until the page it was on is gone and the next one has loaded.
    #[allow(clippy::panic, reason = "test helper: failing loudly is the point")]
    pub fn click(&self, css: &str) {
        let e = self.find(css);
        self.call("POST", &format!("/element/{}/click", e.0), Some(json!({})));
        let path = format!("/session/{}/element/{}/name", self.session, e.0);
        let deadline = Instant::now() + Duration::from_secs(30);
        // The clicked element goes stale when its page is replaced.
        while exchange(self.port, "GET", &path, None).is_ok_and(|(code, _)| code == 200) {
            if Instant::now() > deadline {
                panic!("clicking {css:?} on {} loaded no page", self.url());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // The new page, once loaded (an empty wait: navigation commands wait for loads).
        self.call("GET", "/url", None);
        let _ = self.find_all("body");
    }

    /// A cookie's value (HttpOnly ones too), if set for the current page.
    pub fn cookie(&self, name: &str) -> Option<String> {
        let v = self.call("GET", "/cookie", None);
        v.as_array()?
            .iter()
            .find(|c| c["name"] == name)
            .and_then(|c| c["value"].as_str())
            .map(str::to_owned)
    }

    /// Saves a PNG screenshot of the page to `path`.
    #[allow(clippy::panic, reason = "test helper: failing loudly is the point")]
    pub fn screenshot(&self, path: &Path) {
        use base64::Engine;
        let v = self.call("GET", "/screenshot", None);
        let png = base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap_or_default())
            .unwrap_or_else(|e| panic!("the screenshot is not base64: {e}"));
        std::fs::write(path, png)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // The browser first; the driver stops when its field is dropped.
        let _ = exchange(self.port, "DELETE", &format!("/session/{}", self.session), None);
    }
}
