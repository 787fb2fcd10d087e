//! Secrets as files readable by the owner only, under the data directory.

use std::io::Write as _;
use std::path::PathBuf;

use async_trait::async_trait;

use crate::ports::{MakeSecret, SecretError, SecretStore};

pub struct FsSecretStore {
    folder: PathBuf,
}

impl FsSecretStore {
    pub fn new(folder: PathBuf) -> Self {
        Self { folder }
    }
}

#[async_trait]
impl SecretStore for FsSecretStore {
    async fn get_or_create(&self, name: &str, make: MakeSecret<'_>) -> Result<Vec<u8>, SecretError> {
        let backend = |e: std::io::Error| SecretError::Backend(format!("{}: {e}", self.folder.display()));
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return Err(SecretError::Create(name.into(), "names are letters, digits and '-'".into()));
        }
        let path = self.folder.join(name);
        match std::fs::read(&path) {
            Ok(bytes) => return Ok(bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(backend(e)),
        }
        std::fs::create_dir_all(&self.folder).map_err(backend)?;
        let value = make().map_err(|reason| SecretError::Create(name.into(), reason))?;
        // Written under a temporary name and linked into place: a reader never sees half a
        // secret, and of two racing creators the first link wins.
        let temporary = tempfile_in(&self.folder, &value).map_err(backend)?;
        let linked = std::fs::hard_link(&temporary, &path);
        let _ = std::fs::remove_file(&temporary);
        match linked {
            Ok(()) => Ok(value),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => std::fs::read(&path).map_err(backend),
            Err(e) => Err(backend(e)),
        }
    }
}

fn tempfile_in(folder: &std::path::Path, value: &[u8]) -> std::io::Result<PathBuf> {
    let path = folder.join(format!(".new-{}", uuid::Uuid::new_v4()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&path)?;
    file.write_all(value)?;
    file.sync_all()?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_secret_is_made_once_and_kept_private() {
        let folder = tempfile::tempdir().unwrap();
        let store = FsSecretStore::new(folder.path().join("secrets"));
        let first = store.get_or_create("saml-sp-keys", &|| Ok(b"one".to_vec())).await.unwrap();
        let second = store.get_or_create("saml-sp-keys", &|| Ok(b"two".to_vec())).await.unwrap();
        assert_eq!((first.as_slice(), second.as_slice()), (&b"one"[..], &b"one"[..]));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(folder.path().join("secrets/saml-sp-keys")).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let refused = store.get_or_create("../escape", &|| Ok(Vec::new())).await;
        assert!(matches!(refused, Err(SecretError::Create(..))));
        let failed = store.get_or_create("broken", &|| Err("no randomness".into())).await;
        assert!(matches!(failed, Err(SecretError::Create(..))));
        assert!(!folder.path().join("secrets/broken").exists(), "nothing half-made is kept");
    }
}
