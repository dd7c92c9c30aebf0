//! The HTTP server and the login form against a hostile client: slow bodies, too many
//! requests, huge bodies, malformed parameters, login floods with long names, guesses in
//! parallel, an attacker keeping `admin` out, open redirects, forged login forms. Each attack
//! ends in a clean refusal in our error shape, nothing written, and a server that still answers.

use crate::helpers::{anonymous, apps, login_form, TestApp};
use reqwest::Client;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A client whose connections come from `addr` (any 127.x.y.z reaches the test server).
fn client_from(addr: Ipv4Addr) -> Client {
    Client::builder()
        .local_address(IpAddr::V4(addr))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Asserts the JSON error body `{error, reason}` and returns `error`.
async fn json_error(r: reqwest::Response, status: u16) -> String {
    assert_eq!(r.status(), status, "{}", r.url());
    let ct = r.headers()["content-type"].to_str().unwrap().to_string();
    assert!(ct.starts_with("application/json"), "{ct}");
    let v: serde_json::Value = r.json().await.unwrap();
    assert!(v["reason"].is_string(), "{v}");
    v["error"].as_str().expect("error field").to_string()
}

/// Opens a request whose body never finishes arriving.
async fn slow_body(app: &TestApp, path: &str, token: &str) -> TcpStream {
    let host = app.base.trim_start_matches("http://").to_string();
    let mut s = TcpStream::connect(&host).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{{\"query\": \"SEL"
    );
    s.write_all(head.as_bytes()).await.unwrap();
    s
}

/// The audit rows so far.
async fn audit_rows(app: &TestApp) -> usize {
    parterre_core::auth::audit::recent(&app.store, None, 100_000).await.unwrap().len()
}

fn vm_rss_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn every_answer_carries_the_security_headers_and_a_request_id() {
    for db in apps().await {
        let app = TestApp::spawn(db).await;
        let c = anonymous();
        for path in [
            "/login",
            "/static/app.css",
            "/api/v1/halls",
            "/api/v1/nope",
            "/nope",
            "/api/openapi.json",
            "/",
        ] {
            let r = c.get(app.url(path)).send().await.unwrap();
            let h = r.headers();
            let csp = h["content-security-policy"].to_str().unwrap();
            assert!(
                csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"),
                "{path}: {csp}"
            );
            assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
            assert_eq!(h["x-frame-options"], "DENY", "{path}");
            assert_eq!(h["referrer-policy"], "same-origin", "{path}");
            assert_eq!(h["x-request-id"].len(), 32, "{path}");
        }
        // A client's own request id is echoed; a forged one (too long, odd characters) is not.
        let r = c.get(app.url("/login")).header("x-request-id", "caisse-3").send().await.unwrap();
        assert_eq!(r.headers()["x-request-id"], "caisse-3");
        let r = c
            .get(app.url("/login"))
            .header("x-request-id", "a b\"<script>")
            .send()
            .await
            .unwrap();
        assert_ne!(r.headers()["x-request-id"], "a b\"<script>");
        // No inline style or script in our pages: the policy allows only our own files.
        let admin = app.browser("admin", &app.admin_password).await;
        for path in [
            "/login",
            "/",
            "/box-office/performances/1",
            "/admin/performances/1/plan",
            "/admin/shows",
        ] {
            let html = admin.get(app.url(path)).send().await.unwrap().text().await.unwrap();
            for bad in ["style=\"", "<style", "<script>", "onclick=", "javascript:"] {
                assert!(!html.contains(bad), "{path} holds {bad}");
            }
        }
        app.stop().await;
    }
}

#[tokio::test]
async fn malformed_parameters_methods_paths_and_bodies_answer_in_the_json_error_body() {
    for db in apps().await {
        let app = TestApp::spawn(db).await;
        let token = app.user_with("lea", &["sales.sell", "catalog.read", "warehouse.query"]).await;
        let c = anonymous();
        let get = |path: &str| c.get(app.url(path)).bearer_auth(&token).send();
        let e = json_error(get("/api/v1/orders/abc").await.unwrap(), 400).await;
        assert!(e.contains("paramètre invalide") && e.contains("« abc »"), "{e}");
        json_error(get("/api/v1/orders/99999999999999999999").await.unwrap(), 400).await;
        json_error(get("/api/v1/carts/1/items/x").await.unwrap(), 405).await;
        let e = json_error(get("/api/v1/options?days=beaucoup").await.unwrap(), 400).await;
        assert!(e.contains("days"), "{e}");
        json_error(get("/api/v1/nulle-part").await.unwrap(), 404).await;
        let r = c.delete(app.url("/api/v1/halls")).bearer_auth(&token).send().await.unwrap();
        assert!(r.headers()["allow"].to_str().unwrap().contains("GET"));
        let e = json_error(r, 405).await;
        assert!(e.contains("DELETE"), "{e}");
        // A body over 1 MiB is refused whatever its content, before it is parsed.
        let huge = format!("{{\"query\": \"SELECT '{}'\"}}", "x".repeat(2 << 20));
        let r = c
            .post(app.url("/api/v1/sql"))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(huge)
            .send()
            .await
            .unwrap();
        let e = json_error(r, 413).await;
        assert!(e.contains("trop volumineux"), "{e}");
        let r = c
            .post(app.url("/api/v1/carts"))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body("{\"channel\": ")
            .send()
            .await
            .unwrap();
        json_error(r, 400).await;
        // The API document says so on every operation.
        let doc: serde_json::Value = c.get(app.url("/api/openapi.json")).send().await.unwrap().json().await.unwrap();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                for code in ["400", "503"] {
                    let schema = &op["responses"][code]["content"]["application/json"]["schema"]["$ref"];
                    assert_eq!(schema, "#/components/schemas/ErrorBody", "{method} {path} {code}");
                }
                if op.get("requestBody").is_some() {
                    assert!(op["responses"]["413"].is_object(), "{method} {path} 413");
                }
            }
        }
        // Pages answer the same mistakes with the French error page.
        let admin = app.browser("admin", &app.admin_password).await;
        let r = admin.get(app.url("/box-office/orders/abc")).send().await.unwrap();
        assert_eq!(r.status(), 400);
        assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
        assert!(r.text().await.unwrap().contains("paramètre invalide"));
        let r = admin.delete(app.url("/admin/shows")).send().await.unwrap();
        assert_eq!(r.status(), 405);
        assert!(r.text().await.unwrap().contains("Erreur 405"));
        app.stop().await;
    }
}

#[tokio::test]
async fn a_body_sent_slowly_is_cut_off_and_the_server_goes_on() {
    for db in apps().await {
        let app = TestApp::spawn_with(db, |s| s.http.request_timeout = Duration::from_secs(2)).await;
        let token = app.user_with("lea", &["warehouse.query"]).await;
        let started = Instant::now();
        let mut s = slow_body(&app, "/api/v1/sql", &token).await;
        let mut answer = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(15), s.read_to_end(&mut answer)).await;
        assert!(read.is_ok(), "the server must answer and close, not wait for the body");
        let text = String::from_utf8_lossy(&answer);
        assert!(text.starts_with("HTTP/1.1 503"), "{text}");
        assert!(text.contains("application/json") && text.contains("délai dépassé"), "{text}");
        assert!(started.elapsed() >= Duration::from_secs(2));
        let r = anonymous().get(app.url("/api/v1/halls")).bearer_auth(&token).send().await.unwrap();
        assert_eq!(r.status(), 403, "still answering");
        app.stop().await;
    }
}

#[tokio::test]
async fn requests_over_the_in_flight_cap_are_refused_at_once() {
    for db in apps().await {
        let app = TestApp::spawn_with(db, |s| s.http.max_in_flight = 3).await;
        let token = app.user_with("lea", &["warehouse.query"]).await;
        let mut hogs = Vec::new();
        for _ in 0..3 {
            hogs.push(slow_body(&app, "/api/v1/sql", &token).await);
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        let started = Instant::now();
        let r = anonymous().get(app.url("/api/v1/halls")).send().await.unwrap();
        assert_eq!(r.headers()["retry-after"], "1");
        let e = json_error(r, 503).await;
        assert!(e.contains("serveur occupé"), "{e}");
        assert!(started.elapsed() < Duration::from_secs(2), "refused at once, not queued");
        drop(hogs);
        // Once they are gone, their places are given back.
        let mut status = 0;
        for _ in 0..50 {
            status = anonymous().get(app.url("/api/v1/halls")).send().await.unwrap().status().as_u16();
            if status != 503 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(status, 401);
        app.stop().await;
    }
}

#[tokio::test]
async fn over_long_login_names_and_passwords_are_refused_before_anything_is_written() {
    for db in apps().await {
        let app = TestApp::spawn(db).await;
        let c = anonymous();
        let before = audit_rows(&app).await;
        let long = "a".repeat(65);
        for _ in 0..30 {
            let r = app.post_login(&c, &[("login", long.as_str()), ("password", "x")]).await;
            assert_eq!(r.status(), 422);
            assert!(r.text().await.unwrap().contains("Identifiant trop long (64 caractères au plus)"));
        }
        let heavy = "p".repeat(1025);
        let r = app.post_login(&c, &[("login", "admin"), ("password", heavy.as_str())]).await;
        assert_eq!(r.status(), 422);
        assert!(r.text().await.unwrap().contains("Mot de passe trop long"));
        // 1.5 MB of login name: over the body limit, refused before the form is even read.
        let (cookie, csrf) = login_form(&c, &app.url("/login")).await;
        let flood = "b".repeat(1_500_000);
        let r = c
            .post(app.url("/login"))
            .header("cookie", cookie)
            .form(&[("login", flood.as_str()), ("password", "x"), ("csrf", csrf.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 413);
        assert_eq!(audit_rows(&app).await, before, "nothing audited");
        // Nor counted: the owner logs in at once from the same address.
        let r = app
            .post_login(&c, &[("login", "admin"), ("password", app.admin_password.as_str())])
            .await;
        assert_eq!(r.status(), 303);
        app.stop().await;
    }
}

#[tokio::test]
async fn parallel_guesses_are_counted_before_they_are_checked() {
    for db in apps().await {
        let app = TestApp::spawn(db).await;
        let attacker = client_from(Ipv4Addr::new(127, 0, 3, 1));
        let mut forms = Vec::new();
        for _ in 0..40 {
            forms.push(login_form(&attacker, &app.url("/login")).await);
        }
        let guesses = forms.iter().map(|(cookie, csrf)| {
            attacker
                .post(app.url("/login"))
                .header("cookie", cookie.as_str())
                .form(&[("login", "admin"), ("password", "devine"), ("csrf", csrf.as_str())])
                .send()
        });
        let answers = futures_join_all(guesses).await;
        let checked = answers.iter().filter(|s| **s == 401).count();
        let throttled = answers.iter().filter(|s| **s == 429).count();
        assert_eq!(checked + throttled, 40, "{answers:?}");
        assert!(checked <= 3, "only the free attempts are checked, even in parallel: {checked}");
        app.stop().await;
    }
}

/// Waits for every request and returns its status.
async fn futures_join_all<F>(requests: impl Iterator<Item = F>) -> Vec<u16>
where
    F: std::future::Future<Output = reqwest::Result<reqwest::Response>> + Send + 'static,
{
    let handles: Vec<_> = requests.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap().map(|r| r.status().as_u16()).unwrap_or(0));
    }
    out
}

#[tokio::test]
async fn a_login_flood_from_many_addresses_stays_bounded_and_never_locks_the_owner_out() {
    for db in apps().await {
        let app = TestApp::spawn(db).await;
        let rss_before = vm_rss_kb();
        let mut forms = Vec::new();
        for i in 0..200u8 {
            let c = client_from(Ipv4Addr::new(127, 0, 4, i));
            let (cookie, csrf) = login_form(&c, &app.url("/login")).await;
            forms.push((c, cookie, csrf));
        }
        let guesses = forms.iter().map(|(c, cookie, csrf)| {
            c.post(app.url("/login"))
                .header("cookie", cookie.as_str())
                .form(&[("login", "admin"), ("password", "devine"), ("csrf", csrf.as_str())])
                .send()
        });
        let answers = futures_join_all(guesses).await;
        assert!(answers.iter().all(|s| [401, 503].contains(s)), "{answers:?}");
        assert!(answers.contains(&401));
        let grown_mb = vm_rss_kb().saturating_sub(rss_before) / 1024;
        assert!(grown_mb < 300, "the flood grew the process by {grown_mb} MB");
        // The rightful owner, from another address, gets in after a short delay at most.
        let started = Instant::now();
        let owner = client_from(Ipv4Addr::new(127, 0, 5, 1));
        let r = app
            .post_login(&owner, &[("login", "admin"), ("password", app.admin_password.as_str())])
            .await;
        assert_eq!(r.status(), 303, "the owner is never locked out");
        assert!(started.elapsed() < Duration::from_secs(5));
        // The attacker's own address, flooding on, is held back.
        let attacker = &forms[0].0;
        let mut last = 0;
        for _ in 0..4 {
            last = app
                .post_login(attacker, &[("login", "admin"), ("password", "encore")])
                .await
                .status()
                .as_u16();
        }
        assert_eq!(last, 429);
        app.stop().await;
    }
}

#[tokio::test]
async fn the_login_form_needs_its_csrf_token_and_next_stays_on_this_site() {
    for db in apps().await {
        let app = TestApp::spawn(db).await;
        let c = anonymous();
        let pw = app.admin_password.clone();
        // A form posted from elsewhere has neither the cookie nor the token.
        let before = audit_rows(&app).await;
        let r = c
            .post(app.url("/login"))
            .form(&[("login", "admin"), ("password", pw.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403);
        assert!(r
            .headers()
            .get("set-cookie")
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("parterre_login="));
        let (cookie, _) = login_form(&c, &app.url("/login")).await;
        let (_, other_token) = login_form(&c, &app.url("/login")).await;
        let r = c
            .post(app.url("/login"))
            .header("cookie", cookie)
            .form(&[("login", "admin"), ("password", pw.as_str()), ("csrf", other_token.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "a token that is not the cookie's is refused");
        assert_eq!(audit_rows(&app).await, before);
        // After login, only a path on this site.
        for (next, to) in [
            ("/\\evil.example/", "/"),
            ("//evil.example", "/"),
            ("https://evil.example/", "/"),
            ("/\t/evil.example", "/"),
            ("/admin/shows?x=1", "/admin/shows?x=1"),
        ] {
            let r = app
                .post_login(&c, &[("login", "admin"), ("password", pw.as_str()), ("next", next)])
                .await;
            assert_eq!(r.status(), 303, "{next:?}");
            assert_eq!(r.headers()["location"], to, "{next:?}");
        }
        let page = c
            .get(app.url("/login?next=%2F%5Cevil.example%2F"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(page.contains("name=\"next\" value=\"&#x2f;\""), "{page}");
        app.stop().await;
    }
}

#[tokio::test]
async fn cookies_are_secure_when_served_over_tls() {
    for db in apps().await {
        let app = TestApp::spawn_with(db, |s| s.http.secure_cookies = true).await;
        let c = anonymous();
        let r = c.get(app.url("/login")).send().await.unwrap();
        let set = r.headers()["set-cookie"].to_str().unwrap().to_string();
        assert!(
            set.contains("; Secure") && set.contains("HttpOnly") && set.contains("SameSite=Strict"),
            "{set}"
        );
        let r = app
            .post_login(&c, &[("login", "admin"), ("password", app.admin_password.as_str())])
            .await;
        assert_eq!(r.status(), 303);
        let session = r
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .find(|v| v.starts_with("parterre_session="))
            .unwrap();
        assert!(
            session.contains("; Secure") && session.contains("HttpOnly") && session.contains("SameSite=Lax"),
            "{session}"
        );
        app.stop().await;
    }
    // Without TLS (the default), no `Secure`: the browser would drop the cookie over http.
    let db = apps().await.remove(0);
    let app = TestApp::spawn(db).await;
    let r = anonymous().get(app.url("/login")).send().await.unwrap();
    assert!(!r.headers()["set-cookie"].to_str().unwrap().contains("Secure"));
    app.stop().await;
}
