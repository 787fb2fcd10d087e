use std::io::Write as _;
use std::path::{Path, PathBuf};

use async_trait::async_trait;

use crate::ports::{DocumentError, DocumentStore};

/// Documents as files under a root folder. Writes go to a temporary file that is synced and
/// renamed, so a crash never leaves half a document behind.
pub struct FsDocumentStore {
    root: PathBuf,
}

impl FsDocumentStore {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// Keys are relative paths of plain segments; nothing can point outside the root.
    fn path_of(&self, key: &str) -> Result<PathBuf, DocumentError> {
        let plain = |segment: &str| {
            !segment.is_empty()
                && !segment.starts_with('.')
                && segment.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        };
        if key.split('/').all(plain) { Ok(self.root.join(key)) } else { Err(DocumentError::InvalidKey) }
    }
}

fn io(error: std::io::Error) -> DocumentError {
    DocumentError::Backend(error.to_string())
}

fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let folder = path.parent().expect("document paths have a folder");
    std::fs::create_dir_all(folder)?;
    let temporary = folder.join(format!(".{}.partial", uuid::Uuid::new_v4()));
    let mut file = std::fs::File::create(&temporary)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&temporary, path)?;
    std::fs::File::open(folder)?.sync_all()
}

#[async_trait]
impl DocumentStore for FsDocumentStore {
    async fn put(&self, key: &str, bytes: Vec<u8>, _content_type: &str) -> Result<(), DocumentError> {
        let path = self.path_of(key)?;
        tokio::task::spawn_blocking(move || write_atomically(&path, &bytes))
            .await
            .expect("document write task")
            .map_err(io)
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, DocumentError> {
        let path = self.path_of(key)?;
        match tokio::task::spawn_blocking(move || std::fs::read(path)).await.expect("document read task") {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(e)),
        }
    }

    async fn delete(&self, key: &str) -> Result<(), DocumentError> {
        let path = self.path_of(key)?;
        match tokio::task::spawn_blocking(move || std::fs::remove_file(path)).await.expect("document delete task") {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io(e)),
            _ => Ok(()),
        }
    }
}
