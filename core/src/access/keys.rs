//! Where the ticket signing key lives: outside the database, so that a copy of the database
//! (a backup, a dump handed to an analyst, a stolen replica) cannot forge a ticket.
//!
//! The secret seed comes from the environment ([`KEY_ENV`], 64 hexadecimal characters) or
//! from a key file in the data folder ([`KEY_FILE`], created on first use with owner-only
//! permissions, refused if others can read it). Older installations kept the seed in the
//! setting `access.signing_key.1`: it is moved to the key file at start and deleted from the
//! database (audited, without the secret), so the tickets already printed stay valid.
//!
//! The process loads the key once ([`Keys::signer`]) and keeps it in memory.

use super::{AccessError, TicketSigner, KEY_ID};
use crate::db;
use crate::error::Result;
use crate::store::{Actor, Change, Store};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Environment variable that may hold the seed (hexadecimal); it wins over the key file.
pub const KEY_ENV: &str = "PARTERRE_TICKET_SIGNING_KEY";
/// The key file, relative to the data folder.
pub const KEY_FILE: &str = "keys/ticket-signing.key";
/// The setting where versions before issue 10 kept the seed.
pub const LEGACY_SETTING: &str = "access.signing_key.1";

/// The installation's ticket key: where to find it, and the key once loaded.
#[derive(Debug)]
pub struct Keys {
    data_dir: Option<PathBuf>,
    env_seed: Option<String>,
    loaded: tokio::sync::OnceCell<Arc<TicketSigner>>,
}

impl Keys {
    /// Keys from [`KEY_ENV`] when set, else from the key file of `data_dir`.
    pub fn from_env(data_dir: Option<PathBuf>) -> Self {
        let env_seed = std::env::var(KEY_ENV).ok().filter(|v| !v.trim().is_empty());
        Self::new(data_dir, env_seed)
    }

    /// Keys from `env_seed` when given, else from the key file of `data_dir`.
    pub fn new(data_dir: Option<PathBuf>, env_seed: Option<String>) -> Self {
        Keys {
            data_dir,
            env_seed,
            loaded: Default::default(),
        }
    }

    /// Where the key file is (or would be).
    pub fn key_file(&self) -> Option<PathBuf> {
        self.data_dir.as_deref().map(key_file)
    }

    /// The signer, loaded at the first call (moving a seed left in the database to the key
    /// file, creating the key file if there is none) and kept for the life of the process.
    pub async fn signer(&self, store: &Store) -> Result<Arc<TicketSigner>> {
        self.loaded
            .get_or_try_init(|| async { load(store, self.data_dir.as_deref(), self.env_seed.as_deref()).await.map(Arc::new) })
            .await
            .cloned()
    }
}

/// The key file of a data folder.
pub fn key_file(data_dir: &Path) -> PathBuf {
    data_dir.join(KEY_FILE)
}

async fn load(store: &Store, data_dir: Option<&Path>, env_seed: Option<&str>) -> Result<TicketSigner> {
    let from_env = env_seed
        .map(|hex| TicketSigner::from_seed_hex(KEY_ID, hex).map_err(|e| AccessError::KeyStore(format!("variable {KEY_ENV} : {e}"))))
        .transpose()?;
    let legacy = store.setting(LEGACY_SETTING).await?;
    let Some(dir) = data_dir else {
        if let Some(hex) = &legacy {
            // Without a folder the seed could only be dropped: refuse rather than lose it.
            let same = from_env.as_ref().is_some_and(|s| same_key(s, hex));
            if !same {
                return Err(AccessError::KeyStore(format!(
                    "la base contient encore la clé ({LEGACY_SETTING}) : lancez Parterre avec son dossier de données pour la déplacer dans {KEY_FILE}"
                ))
                .into());
            }
            forget_legacy(
                store,
                from_env.as_ref().map(|s| s.public_key_base64url()),
                "identique à la variable d'environnement",
            )
            .await?;
        }
        return from_env.ok_or_else(|| {
            AccessError::KeyStore(format!(
                "aucune clé : donnez {KEY_ENV} (64 caractères hexadécimaux) ou un dossier de données"
            ))
            .into()
        });
    };
    let path = key_file(dir);
    if let Some(hex) = &legacy {
        let moved = TicketSigner::from_seed_hex(KEY_ID, hex)
            .map_err(|e| AccessError::KeyStore(format!("réglage {LEGACY_SETTING} illisible : {e}")))?;
        match read_key_file(&path)? {
            None => {
                write_key_file(&path, hex)?;
            }
            Some(existing) if existing.public_key_base64url() == moved.public_key_base64url() => {}
            Some(_) => {
                return Err(AccessError::KeyStore(format!(
                    "{} et le réglage {LEGACY_SETTING} contiennent deux clés différentes : gardez la bonne dans le fichier et supprimez l'autre",
                    path.display()
                ))
                .into())
            }
        }
        forget_legacy(store, Some(moved.public_key_base64url()), "déplacée dans le fichier de clé").await?;
    }
    if let Some(signer) = from_env {
        return Ok(signer);
    }
    if let Some(signer) = read_key_file(&path)? {
        return Ok(signer);
    }
    let created = write_key_file(&path, &TicketSigner::generate_seed_hex())?;
    if created {
        tracing::info!(file = %path.display(), "clé de signature des billets créée");
    }
    // Whoever won the race to create the file, its content is the key.
    read_key_file(&path)?.ok_or_else(|| AccessError::KeyStore(format!("{} introuvable après sa création", path.display())).into())
}

fn same_key(signer: &TicketSigner, hex: &str) -> bool {
    TicketSigner::from_seed_hex(KEY_ID, hex).is_ok_and(|s| s.public_key_base64url() == signer.public_key_base64url())
}

/// Deletes the seed from the settings table, audited with the public key only.
async fn forget_legacy(store: &Store, public_key: Option<String>, note: &str) -> Result<()> {
    let mut tx = store.write(&Actor::system()).await?;
    let n = db::query("DELETE FROM settings WHERE key = $1")
        .bind(LEGACY_SETTING)
        .execute(tx.conn())
        .await?
        .rows_affected();
    if n == 0 {
        // Another process moved it meanwhile.
        return Ok(());
    }
    let after = serde_json::json!({ "key_id": KEY_ID, "public_key": public_key, "note": format!("clé secrète retirée de la base : {note} (valeur non journalisée)") });
    tx.record(Change::new("setting.delete", "setting", LEGACY_SETTING).after(&after), None)
        .await?;
    tx.commit().await
}

/// The key in `path`, `None` when the file does not exist.
fn read_key_file(path: &Path) -> Result<Option<TicketSigner>, AccessError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(AccessError::KeyStore(format!("lecture de {} : {e}", path.display()))),
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .map_err(|e| AccessError::KeyStore(format!("{} : {e}", path.display())))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(AccessError::KeyStore(format!(
                "{} est lisible par d'autres comptes (droits {:o}) : « chmod 600 {} »",
                path.display(),
                mode & 0o777,
                path.display()
            )));
        }
    }
    TicketSigner::from_seed_hex(KEY_ID, &text)
        .map(Some)
        .map_err(|e| AccessError::KeyStore(format!("{} : {e}", path.display())))
}

/// Writes `hex` to `path` unless the file exists; true when this call created it.
///
/// The seed goes to a temporary file created with owner-only permissions and flushed, then is
/// linked to its name, which fails if the name exists: the key file is never half-written and
/// never replaced.
fn write_key_file(path: &Path, hex: &str) -> Result<bool, AccessError> {
    use std::io::Write;
    let err = |what: &str, e: std::io::Error| AccessError::KeyStore(format!("{what} : {e}"));
    let dir = path
        .parent()
        .ok_or_else(|| AccessError::KeyStore(format!("{} n'a pas de dossier", path.display())))?;
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(|e| err(&format!("création de {}", dir.display()), e))?;
    let tmp = dir.join(format!(".ticket-signing.{}.tmp", uuid::Uuid::new_v4().simple()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = (|| {
        let mut f = options.open(&tmp)?;
        f.write_all(format!("{}\n", hex.trim()).as_bytes())?;
        f.sync_all()
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(err(&format!("écriture de {}", tmp.display()), e));
    }
    let linked = std::fs::hard_link(&tmp, path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => {
            if let Ok(d) = std::fs::File::open(dir) {
                let _ = d.sync_all();
            }
            Ok(true)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(err(&format!("création de {}", path.display()), e)),
    }
}

#[cfg(test)]
mod tests {
    use super::super::TicketClaim;
    use super::*;
    use crate::store::put_setting;

    fn claim() -> TicketClaim {
        TicketClaim {
            ticket_id: 7,
            performance_id: 3,
            seat_id: None,
            barcode_version: 1,
        }
    }

    /// Every text and blob cell of every table, for "does the database hold this?".
    async fn database_cells(store: &Store) -> Vec<String> {
        let tables: Vec<(String,)> = match store.backend() {
            crate::Backend::Sqlite => db::query_as("SELECT name FROM sqlite_master WHERE type = 'table'"),
            crate::Backend::Postgres => {
                db::query_as("SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public'")
            }
        }
        .fetch_all(store.pool())
        .await
        .unwrap();
        let mut cells = Vec::new();
        for (t,) in tables {
            // PostgreSQL: the whole row as JSON text, whatever its column types.
            let sql = match store.backend() {
                crate::Backend::Sqlite => format!("SELECT * FROM \"{t}\""),
                crate::Backend::Postgres => format!("SELECT row_to_json(t)::text FROM \"{t}\" t"),
            };
            for row in db::query(&sql).fetch_all(store.pool()).await.unwrap() {
                for c in row.0 {
                    match c {
                        db::Cell::Text(s) => cells.push(s),
                        db::Cell::Blob(b) => cells.push(String::from_utf8_lossy(&b).into_owned()),
                        _ => {}
                    }
                }
            }
        }
        cells
    }

    #[tokio::test]
    async fn key_file_is_created_private_and_the_database_never_holds_the_seed() {
        for db in crate::testing::TestDb::all().await.unwrap() {
            let store = db.open().await.unwrap();
            let keys = Keys::new(Some(db.data_dir.clone()), None);
            let signer = keys.signer(&store).await.unwrap();
            let text = signer.sign(&claim()).unwrap();
            let path = keys.key_file().unwrap();
            let seed = std::fs::read_to_string(&path).unwrap().trim().to_string();
            assert_eq!(seed.len(), 64);
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
            }
            // Another process on the same folder signs with the same key.
            let again = Keys::new(Some(db.data_dir.clone()), None).signer(&store).await.unwrap();
            assert_eq!(again.verify(&text).unwrap(), claim(), "{}", db.label);
            let cells = database_cells(&store).await;
            assert!(!cells.is_empty());
            assert!(
                cells.iter().all(|c| !c.to_ascii_lowercase().contains(&seed)),
                "{}: the seed is in the database",
                db.label
            );
            if db.label == "sqlite" {
                // The file copy itself (database and write-ahead log).
                for f in ["parterre.db", "parterre.db-wal"] {
                    if let Ok(bytes) = std::fs::read(db.data_dir.join(f)) {
                        assert!(!String::from_utf8_lossy(&bytes).contains(&seed), "seed in {f}");
                    }
                }
            }
            // A key file others can read is refused.
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
                let err = Keys::new(Some(db.data_dir.clone()), None).signer(&store).await.unwrap_err();
                assert!(err.to_string().contains("chmod 600"), "{err}");
            }
            store.close().await;
            db.cleanup().await;
        }
    }

    #[tokio::test]
    async fn a_seed_left_in_the_settings_moves_to_the_file() {
        for db in crate::testing::TestDb::all().await.unwrap() {
            let store = db.open().await.unwrap();
            let seed = TicketSigner::generate_seed_hex();
            put_setting(&store, &Actor::system(), LEGACY_SETTING, &seed).await.unwrap();
            let old = TicketSigner::from_seed_hex(KEY_ID, &seed).unwrap();
            let printed = old.sign(&claim()).unwrap();
            // Without a data folder, the seed cannot be moved: refused, kept.
            assert!(Keys::new(None, None).signer(&store).await.is_err());
            assert!(store.setting(LEGACY_SETTING).await.unwrap().is_some());
            let signer = Keys::new(Some(db.data_dir.clone()), None).signer(&store).await.unwrap();
            assert_eq!(signer.verify(&printed).unwrap(), claim(), "printed tickets stay valid");
            assert_eq!(store.setting(LEGACY_SETTING).await.unwrap(), None, "{}", db.label);
            let file = std::fs::read_to_string(key_file(&db.data_dir)).unwrap();
            assert_eq!(file.trim(), seed);
            let audit = crate::auth::audit::recent(&store, Some("setting"), 10).await.unwrap();
            let moved = audit.iter().find(|a| a.action == "setting.delete").expect("audited");
            assert!(!moved.after_json.as_deref().unwrap_or_default().contains(&seed));
            store.close().await;
            db.cleanup().await;
        }
    }

    #[tokio::test]
    async fn the_environment_wins_and_bad_seeds_are_refused() {
        let db = crate::testing::TestDb::sqlite();
        let store = db.open().await.unwrap();
        let seed = TicketSigner::generate_seed_hex();
        let from_env = Keys::new(None, Some(seed.clone())).signer(&store).await.unwrap();
        assert_eq!(
            from_env.public_key_base64url(),
            TicketSigner::from_seed_hex(KEY_ID, &seed).unwrap().public_key_base64url()
        );
        let with_dir = Keys::new(Some(db.data_dir.clone()), Some(seed.clone()));
        assert_eq!(
            with_dir.signer(&store).await.unwrap().public_key_base64url(),
            from_env.public_key_base64url()
        );
        assert!(!key_file(&db.data_dir).exists(), "no key file when the environment gives the key");
        let err = Keys::new(None, Some("abc".into())).signer(&store).await.unwrap_err();
        assert!(err.to_string().contains(KEY_ENV), "{err}");
        assert!(!err.to_string().contains("abc"));
        assert!(Keys::new(None, None).signer(&store).await.is_err(), "no key at all");
        store.close().await;
        db.cleanup().await;
    }
}
