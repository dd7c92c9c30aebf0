//! How the web server protects itself, as deployed: request timeout, requests in flight, body
//! size, `Secure` cookies behind TLS.
//!
//! Each setting comes from the environment (`PARTERRE_…`), else from `DATA/parterre.toml`
//! (`key = value` lines, as `cart_ttl_seconds`), else from its default. They live on
//! [`crate::AppState`] so a test can tighten them for one app.

use std::path::Path;
use std::time::Duration;

/// The HTTP server's limits and cookie policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpSettings {
    /// Longest a request may take before it is answered 503 (the warehouse's own SQL timeout
    /// is 30 s, so this is longer). `PARTERRE_REQUEST_TIMEOUT_SECONDS`, `request_timeout_seconds`.
    pub request_timeout: Duration,
    /// Requests served at once; more are refused at once with 503.
    /// `PARTERRE_MAX_REQUESTS_IN_FLIGHT`, `max_requests_in_flight`.
    pub max_in_flight: usize,
    /// Largest request body read, in bytes (413 beyond). `PARTERRE_MAX_BODY_BYTES`, `max_body_bytes`.
    pub max_body_bytes: usize,
    /// Cookies carry `Secure` (the site is served over TLS). `PARTERRE_SECURE_COOKIES=1`,
    /// `secure_cookies = true`.
    pub secure_cookies: bool,
}

/// Default request timeout.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Default requests in flight.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 256;
/// Default body limit: 1 MiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1 << 20;

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            secure_cookies: false,
        }
    }
}

/// The value of `env`, else of `key` in `DATA/parterre.toml`.
fn lookup(data_dir: Option<&Path>, env: &str, key: &str) -> Option<String> {
    if let Ok(v) = std::env::var(env) {
        if !v.trim().is_empty() {
            return Some(v.trim().to_string());
        }
    }
    let text = std::fs::read_to_string(data_dir?.join("parterre.toml")).ok()?;
    text.lines().find_map(|line| {
        let line = line.split('#').next().unwrap_or("").trim();
        let (k, v) = line.split_once('=')?;
        (k.trim() == key).then(|| v.trim().trim_matches('"').to_string())
    })
}

fn positive(v: Option<String>) -> Option<u64> {
    v?.parse::<u64>().ok().filter(|n| *n > 0)
}

fn truthy(v: &str) -> bool {
    matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "oui" | "on")
}

impl HttpSettings {
    /// The settings of a deployment whose data folder is `data_dir`.
    pub fn load(data_dir: Option<&Path>) -> Self {
        let d = HttpSettings::default();
        HttpSettings {
            request_timeout: positive(lookup(data_dir, "PARTERRE_REQUEST_TIMEOUT_SECONDS", "request_timeout_seconds"))
                .map(Duration::from_secs)
                .unwrap_or(d.request_timeout),
            max_in_flight: positive(lookup(data_dir, "PARTERRE_MAX_REQUESTS_IN_FLIGHT", "max_requests_in_flight"))
                .and_then(|n| usize::try_from(n).ok())
                .unwrap_or(d.max_in_flight),
            max_body_bytes: positive(lookup(data_dir, "PARTERRE_MAX_BODY_BYTES", "max_body_bytes"))
                .and_then(|n| usize::try_from(n).ok())
                .unwrap_or(d.max_body_bytes),
            secure_cookies: lookup(data_dir, "PARTERRE_SECURE_COOKIES", "secure_cookies")
                .map(|v| truthy(&v))
                .unwrap_or(d.secure_cookies),
        }
    }

    /// The attributes every cookie we set carries: `; Path=/; HttpOnly; SameSite=…[; Secure]`.
    pub fn cookie_attributes(&self, path: &str, same_site: &str) -> String {
        let secure = if self.secure_cookies { "; Secure" } else { "" };
        format!("; Path={path}; HttpOnly; SameSite={same_site}{secure}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_come_from_the_data_folder_file() {
        let dir = std::env::temp_dir().join(format!("parterre-settings-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("parterre.toml"),
            "cart_ttl_seconds = 60\nsecure_cookies = true # TLS\nrequest_timeout_seconds = 90\nmax_requests_in_flight = 0\n",
        )
        .unwrap();
        let s = HttpSettings::load(Some(&dir));
        assert!(s.secure_cookies);
        assert_eq!(s.request_timeout, Duration::from_secs(90));
        assert_eq!(s.max_in_flight, DEFAULT_MAX_IN_FLIGHT, "0 is not a limit: the default stays");
        assert!(s.cookie_attributes("/", "Lax").ends_with("; Secure"));
        assert_eq!(
            HttpSettings::load(None).cookie_attributes("/login", "Strict"),
            "; Path=/login; HttpOnly; SameSite=Strict"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
