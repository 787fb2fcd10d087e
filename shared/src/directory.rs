//! The office directory as the functions read it: the offices (tenants) from the state store
//! with the directory of municipalities in use, kept in each process for a short while, so that
//! the public pre-check and every routing decision cost no store read.
//!
//! The municipalities are the copy shipped with the project, unless an operator imported a
//! newer one (`sorgeregister places import`): then its files lie in the document store under
//! `places/<stand>/`, and a record of the state store names the stand in use. The files of a
//! stand are written before the record names it and never change afterwards, so a reader never
//! sees half an import; without an import, nothing but that record is read.

use std::sync::{Arc, LazyLock, Mutex};

use time::{Duration, OffsetDateTime};

use crate::domain::office::Directory;
use crate::domain::places::Places;
use crate::ports::{Clock, DocumentError, DocumentStore, StateStore, StoreError};
use crate::records;

/// How long a process uses the offices it read before reading them again. A change through the
/// tenants API counts at once in that process ([`DirectoryCache::invalidate`]), elsewhere within
/// this time.
pub const DIRECTORY_LIFETIME: Duration = Duration::seconds(30);

static SHIPPED: LazyLock<Arc<Places>> = LazyLock::new(|| Arc::new(Places::shipped()));

/// The shipped directory of municipalities, read once per process.
pub fn shipped_places() -> Arc<Places> {
    SHIPPED.clone()
}

struct Cached {
    read_at: OffsetDateTime,
    directory: Arc<Directory>,
    /// The imported stand the municipalities came from (`None`: the shipped copy).
    places_stand: Option<String>,
}

pub struct DirectoryCache {
    store: Arc<dyn StateStore>,
    documents: Arc<dyn DocumentStore>,
    clock: Arc<dyn Clock>,
    cached: Mutex<Option<Cached>>,
}

fn unavailable(error: DocumentError) -> StoreError {
    StoreError::Backend(format!("directory of municipalities: {error}"))
}

impl DirectoryCache {
    pub fn new(store: Arc<dyn StateStore>, documents: Arc<dyn DocumentStore>, clock: Arc<dyn Clock>) -> Self {
        Self { store, documents, clock, cached: Mutex::new(None) }
    }

    /// The directory, read again when the cached one is older than [`DIRECTORY_LIFETIME`].
    pub async fn get(&self) -> Result<Arc<Directory>, StoreError> {
        let now = self.clock.now();
        let known = {
            let cached = self.cached.lock().expect("directory cache lock");
            match cached.as_ref() {
                Some(c) if now - c.read_at < DIRECTORY_LIFETIME => return Ok(c.directory.clone()),
                Some(c) => Some((c.places_stand.clone(), c.directory.shared_places())),
                None => None,
            }
        };
        let offices = records::offices(&*self.store).await?;
        let stand = self.current_stand().await?;
        let places = match (&stand, known) {
            // The municipalities change quarterly: read again only when another stand is current.
            (stand, Some((known_stand, places))) if *stand == known_stand => places,
            (None, _) => shipped_places(),
            (Some(stand), _) => Arc::new(self.read_places(stand).await?),
        };
        let directory = Arc::new(Directory::new(offices, places));
        *self.cached.lock().expect("directory cache lock") =
            Some(Cached { read_at: now, directory: directory.clone(), places_stand: stand });
        Ok(directory)
    }

    /// Forgets the cached directory: the next [`Self::get`] reads the store (after a tenant
    /// changed, or an import).
    pub fn invalidate(&self) {
        *self.cached.lock().expect("directory cache lock") = None;
    }

    async fn current_stand(&self) -> Result<Option<String>, StoreError> {
        records::places_stand(&*self.store).await
    }

    async fn read_places(&self, stand: &str) -> Result<Places, StoreError> {
        let file = |name: &str| format!("places/{stand}/{name}");
        let read = |bytes: Option<Vec<u8>>, name: &str| {
            bytes
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .ok_or_else(|| StoreError::Backend(format!("directory of municipalities: {stand}/{name} is missing")))
        };
        let municipalities =
            read(self.documents.get(&file("gemeinden.csv")).await.map_err(unavailable)?, "gemeinden.csv")?;
        let postcodes = read(self.documents.get(&file("plz.csv")).await.map_err(unavailable)?, "plz.csv")?;
        Places::from_csv(stand, &municipalities, &postcodes)
            .map_err(|error| StoreError::Backend(format!("directory of municipalities {stand}: {error}")))
    }

    /// Makes `places` the directory of municipalities in use (an operator's import).
    pub async fn store_places(&self, places: &Places) -> Result<(), StoreError> {
        let stand = places.stand();
        let (municipalities, postcodes) = places.to_csv();
        for (name, text) in [("gemeinden.csv", municipalities), ("plz.csv", postcodes)] {
            let key = format!("places/{stand}/{name}");
            self.documents.put(&key, text.into_bytes(), "text/csv").await.map_err(unavailable)?;
        }
        records::set_places_stand(&*self.store, stand).await?;
        self.invalidate();
        Ok(())
    }
}
