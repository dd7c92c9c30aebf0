//! The object store a [`crate::Warehouse`] reads through: one manifest generation, frozen.
//!
//! DataFusion's listing tables list their folder when a query is planned and open the files
//! when it runs. Through this store, listing returns the files of the manifest the warehouse
//! was opened on (never what happens to be in the folder), and opening a file that a newer
//! generation superseded in the meantime finds it in `_history/` (same bytes: files are never
//! rewritten). So a query sees exactly one generation from plan to end, whatever the pipeline
//! commits meanwhile. Writes are refused: the warehouse is read-only here.

use crate::manifest::{Manifest, HISTORY_DIR};
use async_trait::async_trait;
use datafusion::object_store::local::LocalFileSystem;
use datafusion::object_store::path::Path as ObjectPath;
use datafusion::object_store::{
    CopyOptions, Error, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore, PutMultipartOptions, PutOptions,
    PutPayload, PutResult, Result,
};
use futures::stream::{self, BoxStream, StreamExt};
use std::collections::BTreeSet;
use std::path::Path;

/// The URL tables are registered under (`parterre://warehouse/<table>/`).
pub const STORE_URL: &str = "parterre://warehouse";

/// One generation's files over the local folder.
#[derive(Debug)]
pub struct GenerationStore {
    local: LocalFileSystem,
    files: Vec<ObjectMeta>,
    generation: u64,
}

impl std::fmt::Display for GenerationStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "entrepôt, génération {}", self.generation)
    }
}

fn refused(operation: &str) -> Error {
    Error::NotSupported {
        source: format!("entrepôt en lecture seule ({operation})").into(),
    }
}

impl GenerationStore {
    /// The files of `manifest` under `root`.
    pub fn new(root: &Path, manifest: &Manifest) -> crate::Result<Self> {
        let local = LocalFileSystem::new_with_prefix(root).map_err(|e| crate::WarehouseError::Io(format!("{} : {e}", root.display())))?;
        let at = chrono::DateTime::parse_from_rfc3339(&manifest.committed_at)
            .map(|t| t.with_timezone(&chrono::Utc))
            .unwrap_or_default();
        let files = manifest
            .files()
            .map(|f| ObjectMeta {
                location: ObjectPath::from(f.path.as_str()),
                last_modified: at,
                size: f.bytes,
                e_tag: None,
                version: None,
            })
            .collect();
        Ok(GenerationStore {
            local,
            files,
            generation: manifest.generation,
        })
    }

    fn under<'a>(&'a self, prefix: Option<&'a ObjectPath>) -> impl Iterator<Item = &'a ObjectMeta> + 'a {
        self.files
            .iter()
            .filter(move |m| prefix.is_none_or(|p| m.location.prefix_matches(p)))
    }
}

#[async_trait]
impl ObjectStore for GenerationStore {
    async fn put_opts(&self, _: &ObjectPath, _: PutPayload, _: PutOptions) -> Result<PutResult> {
        Err(refused("écriture"))
    }

    async fn put_multipart_opts(&self, _: &ObjectPath, _: PutMultipartOptions) -> Result<Box<dyn MultipartUpload>> {
        Err(refused("écriture"))
    }

    async fn get_opts(&self, location: &ObjectPath, mut options: GetOptions) -> Result<GetResult> {
        // Files never change once written: conditions on their version mean nothing here (and
        // a move to `_history/` changes what the local store would compare).
        options.if_match = None;
        options.if_none_match = None;
        options.if_modified_since = None;
        options.if_unmodified_since = None;
        match self.local.get_opts(location, options.clone()).await {
            Err(Error::NotFound { .. }) => {
                let moved = ObjectPath::from(format!("{HISTORY_DIR}/{}", location.as_ref()));
                let mut r = self.local.get_opts(&moved, options).await?;
                r.meta.location = location.clone();
                Ok(r)
            }
            other => other,
        }
    }

    fn delete_stream(&self, locations: BoxStream<'static, Result<ObjectPath>>) -> BoxStream<'static, Result<ObjectPath>> {
        locations.map(|_| Err(refused("suppression"))).boxed()
    }

    fn list(&self, prefix: Option<&ObjectPath>) -> BoxStream<'static, Result<ObjectMeta>> {
        let found: Vec<Result<ObjectMeta>> = self.under(prefix).cloned().map(Ok).collect();
        stream::iter(found).boxed()
    }

    async fn list_with_delimiter(&self, prefix: Option<&ObjectPath>) -> Result<ListResult> {
        let depth = prefix.map(|p| p.parts().count()).unwrap_or(0);
        let mut common_prefixes = BTreeSet::new();
        let mut objects = Vec::new();
        for m in self.under(prefix) {
            let parts: Vec<_> = m.location.parts().collect();
            if parts.len() == depth + 1 {
                objects.push(m.clone());
            } else if parts.len() > depth + 1 {
                common_prefixes.insert(ObjectPath::from_iter(parts.into_iter().take(depth + 1)));
            }
        }
        Ok(ListResult {
            common_prefixes: common_prefixes.into_iter().collect(),
            objects,
        })
    }

    async fn copy_opts(&self, _: &ObjectPath, _: &ObjectPath, _: CopyOptions) -> Result<()> {
        Err(refused("copie"))
    }
}
