//! Spawning the app and making users with given permissions.

use parterre_core::auth::{roles, tokens, users};
use parterre_core::testing::TestDb;
use parterre_core::{Actor, Store};
use reqwest::redirect::Policy;
use reqwest::Client;
use tokio::sync::oneshot;

pub struct TestApp {
    pub base: String,
    pub store: Store,
    pub admin_password: String,
    stop: Option<oneshot::Sender<()>>,
    db: Option<TestDb>,
    state: parterre_ui::SharedState,
}

impl TestApp {
    pub async fn spawn(db: TestDb) -> TestApp {
        Self::spawn_full(db, parterre_warehouse::Limits::from_env(), |_| {}).await
    }

    /// Same, with the app's state adjusted first (tighter HTTP limits, `Secure` cookies…).
    pub async fn spawn_with(db: TestDb, adjust: impl FnOnce(&mut parterre_ui::AppState)) -> TestApp {
        Self::spawn_full(db, parterre_warehouse::Limits::from_env(), adjust).await
    }

    /// The app with the warehouse engine running within `limits`.
    pub async fn spawn_with_limits(db: TestDb, limits: parterre_warehouse::Limits) -> TestApp {
        Self::spawn_full(db, limits, |_| {}).await
    }

    async fn spawn_full(db: TestDb, limits: parterre_warehouse::Limits, adjust: impl FnOnce(&mut parterre_ui::AppState)) -> TestApp {
        let store = db.open().await.expect("store");
        let report = parterre_core::demo::load(&store, parterre_core::time::today_paris())
            .await
            .expect("demo");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = oneshot::channel::<()>();
        let mut state = parterre_ui::state_with_warehouse(
            store.clone(),
            parterre_core::sales::cart_ttl_seconds(None),
            Some(db.data_dir.clone()),
            parterre_warehouse::Engine::new(limits),
        );
        adjust(std::sync::Arc::get_mut(&mut state).expect("state not shared yet"));
        let shared = state.clone();
        tokio::spawn(async move {
            parterre_ui::serve_with(state, listener, async {
                let _ = rx.await;
            })
            .await
            .unwrap();
        });
        TestApp {
            base,
            store,
            admin_password: report.admin_password.unwrap(),
            stop: Some(tx),
            db: Some(db),
            state: shared,
        }
    }

    /// The app's ticket signer (the key file of its data folder).
    pub async fn signer(&self) -> std::sync::Arc<parterre_core::access::TicketSigner> {
        self.state.ticket_signer().await.expect("ticket signing key")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// A user holding exactly `perms` (through a role of their own); returns its API token.
    pub async fn user_with(&self, login: &str, perms: &[&str]) -> String {
        let sys = Actor::system();
        let perms: Vec<String> = perms.iter().map(|p| p.to_string()).collect();
        let role_code = format!("r_{}", login.replace(['-', '.'], "_"));
        roles::create_role(&self.store, &sys, &role_code, login, &perms).await.unwrap();
        users::create_user(&self.store, &sys, login, login, "motdepasse", &[role_code])
            .await
            .unwrap();
        tokens::create_token(&self.store, &sys, login, "test").await.unwrap()
    }

    /// A browser (cookie jar, no automatic redirects) logged in as `login`.
    pub async fn browser(&self, login: &str, password: &str) -> Client {
        let c = Client::builder().cookie_store(true).redirect(Policy::none()).build().unwrap();
        let r = self
            .post_login(&c, &[("login", login), ("password", password), ("next", "/")])
            .await;
        assert_eq!(r.status(), 303, "login of {login} failed");
        c
    }

    /// Posts the login form as a browser does: `GET /login` first, then the form with its
    /// CSRF token and cookie (sent by hand, so `client` needs no cookie jar).
    pub async fn post_login(&self, client: &Client, fields: &[(&str, &str)]) -> reqwest::Response {
        let (cookie, token) = login_form(client, &self.url("/login")).await;
        let mut form: Vec<(&str, &str)> = fields.to_vec();
        form.push(("csrf", token.as_str()));
        client
            .post(self.url("/login"))
            .header("cookie", cookie)
            .form(&form)
            .send()
            .await
            .unwrap()
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        self.store.close().await;
        if let Some(db) = self.db.take() {
            db.cleanup().await;
        }
    }
}

/// Every backend, each with a fresh app.
pub async fn apps() -> Vec<TestDb> {
    TestDb::all().await.expect("test databases")
}

/// A client that does not follow redirects and keeps no cookies.
pub fn anonymous() -> Client {
    Client::builder().redirect(Policy::none()).build().unwrap()
}

/// The login form's CSRF cookie (`name=value`) and token.
pub async fn login_form(client: &Client, url: &str) -> (String, String) {
    let r = client.get(url).send().await.unwrap();
    assert_eq!(r.status(), 200, "GET /login");
    let cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("parterre_login="))
        .and_then(|v| v.split(';').next())
        .expect("the login page sets its CSRF cookie")
        .to_string();
    let html = r.text().await.unwrap();
    let i = html.find("name=\"csrf\" value=\"").expect("login form has a CSRF field") + "name=\"csrf\" value=\"".len();
    (cookie, html[i..i + 64].to_string())
}

/// The CSRF token of a page's first form.
pub async fn csrf(client: &Client, url: &str) -> String {
    let html = client.get(url).send().await.unwrap().text().await.unwrap();
    let i = html.find("name=\"csrf\" value=\"").expect("page has a CSRF field") + "name=\"csrf\" value=\"".len();
    html[i..i + 64].to_string()
}
