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
        let backend = |e: std::io::Error| self.backend(e);
        if let Some(bytes) = self.get(name).await? {
            return Ok(bytes);
        }
        let path = self.path(name)?;
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

    async fn get(&self, name: &str) -> Result<Option<Vec<u8>>, SecretError> {
        match std::fs::read(self.path(name)?) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.backend(e)),
        }
    }

    async fn put(&self, name: &str, value: &[u8]) -> Result<(), SecretError> {
        let path = self.path(name)?;
        std::fs::create_dir_all(&self.folder).map_err(|e| self.backend(e))?;
        // Renamed into place: a reader sees the old secret or the new one, never half of one.
        let temporary = tempfile_in(&self.folder, value).map_err(|e| self.backend(e))?;
        std::fs::rename(&temporary, &path).map_err(|e| {
            let _ = std::fs::remove_file(&temporary);
            self.backend(e)
        })
    }
}

impl FsSecretStore {
    fn path(&self, name: &str) -> Result<PathBuf, SecretError> {
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return Err(SecretError::Create(name.into(), "names are letters, digits and '-'".into()));
        }
        Ok(self.folder.join(name))
    }

    fn backend(&self, error: std::io::Error) -> SecretError {
        SecretError::Backend(format!("{}: {error}", self.folder.display()))
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

        assert_eq!(store.get("office-idp-client-secret-verden").await.unwrap(), None);
        store.put("office-idp-client-secret-verden", b"first").await.unwrap();
        store.put("office-idp-client-secret-verden", b"second").await.unwrap();
        assert_eq!(store.get("office-idp-client-secret-verden").await.unwrap().as_deref(), Some(&b"second"[..]));
        assert!(store.put("../escape", b"x").await.is_err());
    }
}
