//! The audit trail of a request: append-only entries (who, what, when — ids only, no personal
//! data), each carrying the hash of the one before, so that changing or removing an earlier
//! entry is detected; the last entry is kept beside the trail as its head, so that a trail cut
//! off at its end is detected too. The hashes are HMACs with a key from the secret store: who
//! can write the table but not read the key cannot make a changed trail verify again.

use aws_lc_rs::hmac;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// The hash the first entry links to.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditEntry {
    /// Position in the trail, from 1.
    pub seq: u64,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// A subject id (citizen pseudonym, staff id) or `system`.
    pub actor: String,
    /// What happened, e.g. `submitted`, `decision:reject`, `document:antrag.pdf`.
    pub action: String,
    pub previous_hash: String,
    pub hash: String,
}

/// The key the trails' hashes are made with (HMAC-SHA256).
#[derive(Clone)]
pub struct AuditKey(hmac::Key);

impl AuditKey {
    pub fn new(secret: &[u8]) -> AuditKey {
        AuditKey(hmac::Key::new(hmac::HMAC_SHA256, secret))
    }

    fn hash_of(&self, seq: u64, at: OffsetDateTime, actor: &str, action: &str, previous_hash: &str) -> String {
        let at = at.unix_timestamp_nanos();
        // Fields are length-prefixed so that no two different entries share an input.
        let input = format!("{seq}|{at}|{}:{actor}|{}:{action}|{previous_hash}", actor.len(), action.len());
        hex::encode(hmac::sign(&self.0, input.as_bytes()))
    }
}

impl std::fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditKey(…)")
    }
}

impl AuditEntry {
    /// The entry that follows `previous` (or starts the trail).
    pub fn after(
        key: &AuditKey,
        previous: Option<&AuditEntry>,
        at: OffsetDateTime,
        actor: &str,
        action: &str,
    ) -> AuditEntry {
        let (seq, previous_hash) = match previous {
            Some(entry) => (entry.seq + 1, entry.hash.clone()),
            None => (1, GENESIS.to_owned()),
        };
        let hash = key.hash_of(seq, at, actor, action, &previous_hash);
        AuditEntry { seq, at, actor: actor.to_owned(), action: action.to_owned(), previous_hash, hash }
    }
}

/// Where a trail stops being trustworthy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Broken {
    pub seq: u64,
}

/// Checks every link, and that the trail ends where its `head` (the last entry as it was
/// appended) says; `Err` names the first entry that was altered, removed or inserted, or the
/// first one missing at the end. Trails older than the head have none.
pub fn verify(key: &AuditKey, trail: &[AuditEntry], head: Option<&AuditEntry>) -> Result<(), Broken> {
    verify_links(key, trail)?;
    match head {
        Some(head) if trail.last() != Some(head) => {
            let last = trail.last().map_or(0, |entry| entry.seq);
            Err(Broken { seq: if head.seq > last { last + 1 } else { head.seq } })
        }
        _ => Ok(()),
    }
}

fn verify_links(key: &AuditKey, trail: &[AuditEntry]) -> Result<(), Broken> {
    let mut previous_hash = GENESIS;
    for (index, entry) in trail.iter().enumerate() {
        let expected_seq = index as u64 + 1;
        let intact = entry.seq == expected_seq
            && entry.previous_hash == previous_hash
            && entry.hash == key.hash_of(entry.seq, entry.at, &entry.actor, &entry.action, &entry.previous_hash);
        if !intact {
            return Err(Broken { seq: expected_seq });
        }
        previous_hash = &entry.hash;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn key() -> AuditKey {
        AuditKey::new(b"the platform's audit key")
    }

    fn trail_with(key: &AuditKey) -> Vec<AuditEntry> {
        let mut trail: Vec<AuditEntry> = Vec::new();
        for (actor, action) in [("bundid-1", "submitted"), ("system", "prepared"), ("staff-7", "decision:reject")] {
            let entry = AuditEntry::after(key, trail.last(), datetime!(2026-11-23 10:00 UTC), actor, action);
            trail.push(entry);
        }
        trail
    }

    fn trail() -> Vec<AuditEntry> {
        trail_with(&key())
    }

    #[test]
    fn an_untouched_trail_verifies() {
        let trail = trail();
        assert_eq!(verify(&key(), &trail, trail.last()), Ok(()));
        assert_eq!(verify(&key(), &trail, None), Ok(()), "a trail from before the head");
    }

    #[test]
    fn a_trail_cut_off_at_its_end_is_detected_by_its_head() {
        let mut cut = trail();
        let head = cut.pop().unwrap();
        assert_eq!(verify(&key(), &cut, None), Ok(()), "without the head the cut is invisible");
        assert_eq!(verify(&key(), &cut, Some(&head)), Err(Broken { seq: 3 }));
        assert_eq!(verify(&key(), &[], Some(&head)), Err(Broken { seq: 1 }));
        let mut replaced = trail();
        replaced[2] = AuditEntry::after(&key(), Some(&replaced[1]), head.at, "staff-8", "decision:issue");
        assert_eq!(verify(&key(), &replaced, Some(&head)), Err(Broken { seq: 3 }), "a last entry made again");
    }

    #[test]
    fn altering_an_earlier_entry_is_detected() {
        let mut altered = trail();
        altered[0].actor = "staff-7".into();
        assert_eq!(verify(&key(), &altered, None), Err(Broken { seq: 1 }));
    }

    #[test]
    fn rehashing_an_altered_entry_breaks_the_next_link() {
        let mut altered = trail();
        altered[1].action = "issued".into();
        altered[1].hash = key().hash_of(2, altered[1].at, "system", "issued", &altered[1].previous_hash);
        assert_eq!(verify(&key(), &altered, None), Err(Broken { seq: 3 }));
    }

    #[test]
    fn removing_an_entry_is_detected() {
        let mut shortened = trail();
        shortened.remove(1);
        assert_eq!(verify(&key(), &shortened, None), Err(Broken { seq: 2 }));
    }

    #[test]
    fn a_trail_made_again_without_the_key_is_detected() {
        // Whoever can write the table recomputes every hash of a changed trail, and its head.
        let mut forged = trail_with(&AuditKey::new(b"a guess"));
        forged[2].action = "decision:issue".into();
        let forged = forged.iter().fold(Vec::new(), |mut trail: Vec<AuditEntry>, entry| {
            let again =
                AuditEntry::after(&AuditKey::new(b"a guess"), trail.last(), entry.at, &entry.actor, &entry.action);
            trail.push(again);
            trail
        });
        assert_eq!(verify(&AuditKey::new(b"a guess"), &forged, forged.last()), Ok(()), "consistent in itself");
        assert_eq!(verify(&key(), &forged, forged.last()), Err(Broken { seq: 1 }));
    }
}
