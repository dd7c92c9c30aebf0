//! End-to-end tests of the `parterre` binary: demo, users, tokens, serving, and the crate
//! dependency direction of DESIGN.md.

use std::io::Write;
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::Duration;

fn parterre(data: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_parterre"));
    c.arg("--data")
        .arg(data)
        .env_remove("PARTERRE_DATABASE_URL")
        .env("RUST_LOG", "warn");
    c
}

fn run(cmd: &mut Command, stdin: Option<&str>) -> (bool, String, String) {
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("parterre runs");
    if let Some(input) = stdin {
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    } else {
        drop(child.stdin.take());
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn scratch() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("parterre-cli-{}-{}", std::process::id(), rand_suffix()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

fn get(addr: &str, path: &str, token: Option<&str>) -> (u16, String) {
    use std::io::Read;
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    write!(s, "GET {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Connection: close\r\n\r\n").unwrap();
    let mut buf = String::new();
    s.read_to_string(&mut buf).unwrap();
    let status = buf.split_whitespace().nth(1).unwrap_or("0").parse().unwrap_or(0);
    let body = buf.split_once("\r\n\r\n").map(|x| x.1.to_string()).unwrap_or_default();
    (status, body)
}

#[test]
fn demo_users_tokens_and_serve_from_the_command_line() {
    let data = scratch();
    let (ok, out, err) = run(parterre(&data).args(["demo", "--today", "2026-11-23"]), None);
    assert!(ok, "{err}");
    assert!(out.contains("saison 2026-2027, 65 spectacles, 200 séances"), "{out}");
    assert!(out.contains("Mot de passe (affiché une seule fois)"));
    assert!(data.join("parterre.db").exists());

    let (ok, out, _) = run(parterre(&data).args(["demo", "--today", "2026-11-23"]), None);
    assert!(ok);
    assert!(out.contains("déjà chargée") && !out.contains("Mot de passe"), "{out}");

    let (ok, _, err) = run(parterre(&data).args(["demo", "--today", "23/11/2026"]), None);
    assert!(!ok && err.contains("AAAA-MM-JJ"), "{err}");

    let (ok, out, err) = run(
        parterre(&data).args(["user", "add", "lea", "--role", "box_office"]),
        Some("unmotdepasse\n"),
    );
    assert!(ok, "{err}");
    assert!(out.contains("box_office"));
    let (ok, _, err) = run(
        parterre(&data).args(["user", "add", "lea", "--role", "box_office"]),
        Some("unmotdepasse\n"),
    );
    assert!(!ok && err.contains("existe déjà"), "{err}");
    let (ok, _, err) = run(
        parterre(&data).args(["user", "add", "zoe", "--role", "inconnu"]),
        Some("unmotdepasse\n"),
    );
    assert!(!ok && err.contains("profil inconnu"), "{err}");

    let (ok, out, err) = run(parterre(&data).args(["token", "create", "lea"]), None);
    assert!(ok, "{err}");
    let token = out.lines().last().unwrap().trim().to_string();
    assert!(token.starts_with("prt_") && token.len() > 60, "{out}");
    let (ok, _, err) = run(parterre(&data).args(["token", "create", "personne"]), None);
    assert!(!ok && err.contains("introuvable"), "{err}");

    let (ok, out, _) = run(parterre(&data).args(["hall", "list"]), None);
    assert!(ok && out.contains("Grande salle\tNumérotée\tnuméroté\t843"), "{out}");

    let plan = data.join("plan.csv");
    std::fs::write(&plan, "rang;numero;cote;zone;pmr;x;y\nA;1;impair;p;0;0;0\nA;1;impair;p;0;10;0\n").unwrap();
    let (ok, _, err) = run(parterre(&data).args(["hall", "import-plan", "--layout", "1"]).arg(&plan), None);
    assert!(!ok && err.contains("siège en double : A 1"), "{err}");

    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let addr = format!("127.0.0.1:{port}");
    let mut server = parterre(&data)
        .args(["serve", "--bind", &addr])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut up = false;
    for _ in 0..100 {
        if std::net::TcpStream::connect(&addr).is_ok() {
            up = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(up, "server did not start");
    let health = get(&addr, "/healthz", None);
    let halls = get(&addr, "/api/v1/halls", Some(&token));
    let anonymous = get(&addr, "/api/v1/halls", None);
    let forbidden = get(&addr, "/api/v1/shows", Some("prt_bad"));
    server.kill().ok();
    server.wait().ok();
    assert_eq!(health, (200, "ok".to_string()));
    assert_eq!(halls.0, 200);
    assert!(halls.1.contains("\"capacity\":843"), "{}", halls.1);
    assert_eq!(anonymous.0, 401);
    assert_eq!(forbidden.0, 401);
    let _ = std::fs::remove_dir_all(&data);
}

#[test]
fn tokens_are_listed_and_revoked_from_the_command_line() {
    let data = scratch();
    let (ok, _, err) = run(parterre(&data).args(["demo", "--today", "2026-11-23"]), None);
    assert!(ok, "{err}");
    let (ok, _, err) = run(
        parterre(&data).args(["user", "add", "lea", "--role", "box_office"]),
        Some("unmotdepasse\n"),
    );
    assert!(ok, "{err}");
    let (ok, out, err) = run(
        parterre(&data).args(["token", "create", "lea", "--label", "caisse", "--days", "5"]),
        None,
    );
    assert!(ok, "{err}");
    assert!(out.contains("valable 5 jours"), "{out}");
    let first = out.lines().last().unwrap().trim().to_string();
    assert!(first.starts_with("prt_"), "{out}");
    let (ok, out, _) = run(parterre(&data).args(["token", "create", "lea", "--label", "porte"]), None);
    assert!(ok);
    let second = out.lines().last().unwrap().trim().to_string();
    let (ok, _, err) = run(parterre(&data).args(["token", "create", "lea", "--days", "0"]), None);
    assert!(!ok && err.contains("1 à 730 jours"), "{err}");

    let (ok, out, err) = run(parterre(&data).args(["token", "list", "lea"]), None);
    assert!(ok, "{err}");
    let rows: Vec<&str> = out.lines().skip(1).collect();
    assert_eq!(rows.len(), 2, "{out}");
    assert!(
        rows.iter()
            .all(|r| r.contains("\tlea\t") && r.ends_with("actif") && r.contains("jamais")),
        "{out}"
    );
    assert!(!out.contains(&first[4..]) && !out.contains(&second[4..]), "a secret is listed");
    let porte_id: String = rows
        .iter()
        .find(|r| r.contains("porte"))
        .unwrap()
        .split('\t')
        .next()
        .unwrap()
        .to_string();
    let (ok, out, _) = run(parterre(&data).args(["token", "list", "personne"]), None);
    assert!(ok && out.lines().count() == 1, "{out}");

    // Revoke by the secret itself, then by number; twice is refused; nonsense is refused.
    let (ok, out, err) = run(parterre(&data).args(["token", "revoke", &first]), None);
    assert!(ok && out.contains("révoqué"), "{out}{err}");
    let (ok, _, err) = run(parterre(&data).args(["token", "revoke", &first]), None);
    assert!(!ok && err.contains("déjà révoqué"), "{err}");
    let (ok, _, err) = run(parterre(&data).args(["token", "revoke", "abc"]), None);
    assert!(!ok && err.contains("jeton"), "{err}");
    let (ok, _, err) = run(parterre(&data).args(["token", "revoke", "999999"]), None);
    assert!(!ok && err.contains("introuvable"), "{err}");
    let (ok, out, _) = run(parterre(&data).args(["token", "list"]), None);
    assert!(ok && out.lines().filter(|l| l.contains("révoqué")).count() == 1, "{out}");

    // Served: the revoked token is refused, the other works; the signing key is in its file.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let addr = format!("127.0.0.1:{port}");
    let mut server = parterre(&data)
        .args(["serve", "--bind", &addr])
        .env_remove("PARTERRE_TICKET_SIGNING_KEY")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut up = false;
    for _ in 0..100 {
        if std::net::TcpStream::connect(&addr).is_ok() {
            up = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(up, "server did not start");
    let revoked = get(&addr, "/api/v1/access/keys", Some(&first));
    let kept = get(&addr, "/api/v1/access/keys", Some(&second));
    let (ok, _, _) = run(parterre(&data).args(["token", "revoke", &porte_id]), None);
    std::thread::sleep(Duration::from_millis(2_500)); // the server's token cache lives 2 s
    let later = get(&addr, "/api/v1/access/keys", Some(&second));
    server.kill().ok();
    server.wait().ok();
    assert_eq!(revoked.0, 401, "{}", revoked.1);
    assert_eq!(kept.0, 200, "{}", kept.1);
    assert!(ok);
    assert_eq!(later.0, 401, "revoked by another process: {}", later.1);
    let key = data.join("keys/ticket-signing.key");
    assert!(key.exists(), "serve creates the key file");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&key).unwrap().permissions().mode() & 0o777, 0o600);
    }
    let seed = std::fs::read_to_string(&key).unwrap().trim().to_string();
    assert!(kept.1.contains("Ed25519"), "{}", kept.1);
    let db = std::fs::read(data.join("parterre.db")).unwrap();
    assert!(!String::from_utf8_lossy(&db).contains(&seed), "the seed is in the database file");
    let _ = std::fs::remove_dir_all(&data);
}

#[test]
fn audit_prune_says_how_many_rows_went_and_refuses_a_bad_retention() {
    let data = scratch();
    let (ok, _, err) = run(parterre(&data).arg("migrate"), None);
    assert!(ok, "{err}");
    let (ok, out, err) = run(parterre(&data).args(["audit", "prune"]), None);
    assert!(ok, "{err}");
    assert!(
        out.contains("0 lignes du journal d'audit supprimées (plus anciennes que 400 jours)"),
        "{out}"
    );
    // A retention that would wipe the trail is refused, from the file as from the flag.
    std::fs::write(data.join("parterre.toml"), "audit_retention_days = 3\n").unwrap();
    let (ok, _, err) = run(
        parterre(&data).args(["audit", "prune"]).env_remove("PARTERRE_AUDIT_RETENTION_DAYS"),
        None,
    );
    assert!(!ok);
    assert!(err.contains("durée de conservation du journal d'audit invalide"), "{err}");
    let (ok, _, err) = run(parterre(&data).args(["audit", "prune", "--days", "0"]), None);
    assert!(!ok);
    assert!(err.contains("durée de conservation"), "{err}");
    let (ok, _, err) = run(
        parterre(&data)
            .args(["serve", "--bind", "127.0.0.1:0"])
            .env_remove("PARTERRE_AUDIT_RETENTION_DAYS"),
        None,
    );
    assert!(!ok, "serve does not start with a retention it would not apply");
    assert!(err.contains("durée de conservation"), "{err}");
    let _ = std::fs::remove_dir_all(&data);
}

#[test]
fn crates_depend_only_downwards() {
    let out = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--no-deps", "--offline"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let allowed: &[(&str, &[&str])] = &[
        ("parterre-core", &[]),
        ("parterre-warehouse", &[]),
        ("parterre-pipelines", &["parterre-core", "parterre-warehouse"]),
        ("parterre-segments", &["parterre-core", "parterre-warehouse"]),
        ("parterre-reports", &["parterre-core", "parterre-warehouse"]),
        (
            "parterre-ui",
            &[
                "parterre-core",
                "parterre-warehouse",
                "parterre-pipelines",
                "parterre-segments",
                "parterre-reports",
            ],
        ),
    ];
    for pkg in meta["packages"].as_array().unwrap() {
        let name = pkg["name"].as_str().unwrap();
        let ours: Vec<&str> = pkg["dependencies"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["name"].as_str().unwrap())
            .filter(|d| d.starts_with("parterre"))
            .collect();
        if name == "parterre" {
            continue;
        }
        let ok = allowed
            .iter()
            .find(|(n, _)| *n == name)
            .unwrap_or_else(|| panic!("unknown crate {name}"))
            .1;
        for dep in ours {
            assert!(
                ok.contains(&dep),
                "{name} must not depend on {dep} (DESIGN.md dependency direction)"
            );
        }
    }
}
