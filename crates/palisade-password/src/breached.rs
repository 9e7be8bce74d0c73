//! Breached and common passwords: the [`BreachedPasswords`] trait and [`HibpList`], an offline
//! list in Have I Been Pwned's downloadable `HASH:COUNT` format.
//!
//! The trait receives the SHA-1 digest of the candidate, never the password, so an
//! implementation (a local list, an HTTP client for the HIBP range API, a Bloom filter service)
//! never holds plaintext.
//!
//! ## Memory
//! [`HibpList`] keeps, per entry, the first 8 bytes of the SHA-1 digest (`u64`) and the count
//! (`u32`, saturating): **12 bytes per entry, 12 MB per million entries** (plus transient
//! growth while loading). Truncating to 64 bits makes a false "breached" answer for a password
//! not on the list happen with probability about `n / 2^64` (5 × 10⁻¹¹ for the full billion-entry
//! HIBP corpus) — far below the rate at which users pick listed passwords. Loading can skip
//! entries seen fewer than `min_count` times to save memory.
//!
//! ```
//! use palisade_password::{BreachedPasswords, HibpList, sha1_digest};
//!
//! // SHA-1("password") and SHA-1("123456"), as in the HIBP download.
//! let text = "5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8:10434004\n\
//!             7C4A8D09CA3762AF61E59520943DC26494F8941B:37359195\n";
//! let list = HibpList::from_reader(text.as_bytes(), 1)?;
//! assert_eq!(list.len(), 2);
//! assert_eq!(list.occurrences(&sha1_digest("password"))?, 10_434_004);
//! assert_eq!(list.occurrences(&sha1_digest("correct horse battery staple"))?, 0);
//! # Ok::<(), palisade_password::Error>(())
//! ```

use std::fmt;
use std::io::BufRead;
use std::path::Path;

use sha1::{Digest, Sha1};

use crate::error::{Error, Result};

/// A source of breached-password counts.
pub trait BreachedPasswords: Send + Sync + fmt::Debug {
    /// How many times the password whose SHA-1 digest is `sha1` appears in known breaches
    /// (0 when it does not). An `Err` makes the policy check fail closed.
    fn occurrences(&self, sha1: &[u8; 20]) -> Result<u64>;
}

/// The SHA-1 digest of `password`'s UTF-8 bytes, as HIBP indexes passwords.
pub fn sha1_digest(password: &str) -> [u8; 20] {
    Sha1::digest(password.as_bytes()).into()
}

/// An in-memory, sorted list of truncated SHA-1 digests with counts. See the module docs.
#[derive(Clone, Default)]
pub struct HibpList {
    prefixes: Vec<u64>,
    counts: Vec<u32>,
}

impl fmt::Debug for HibpList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HibpList({} entries, {} bytes)", self.len(), self.memory_bytes())
    }
}

impl HibpList {
    /// Loads `HASH:COUNT` lines (40 hex digits, a colon, a decimal count; a line with the hash
    /// alone counts 1; blank lines and `#` comments are skipped; order does not matter).
    /// Entries with a count below `min_count` are dropped. Duplicates add up.
    pub fn from_reader(reader: impl BufRead, min_count: u64) -> Result<Self> {
        let mut entries: Vec<(u64, u32)> = Vec::new();
        for (n, line) in reader.lines().enumerate() {
            let line = line.map_err(|e| Error::Breached(format!("line {}: {e}", n + 1)))?;
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (hash, count) = match line.split_once(':') {
                Some((h, c)) => (h.trim(), c.trim()),
                None => (line, "1"),
            };
            let bad = |what: &str| {
                Error::Breached(format!(
                    "line {}: {what}; expected 40 hex digits, ':' and a count (the HIBP download format)",
                    n + 1
                ))
            };
            if hash.len() != 40 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(bad("the hash is not 40 hex digits"));
            }
            let count: u64 = count.parse().map_err(|_| bad("the count is not a number"))?;
            if count < min_count {
                continue;
            }
            let prefix = hash
                .get(..16)
                .and_then(|p| u64::from_str_radix(p, 16).ok())
                .ok_or_else(|| bad("the hash is not hex"))?;
            entries.push((prefix, u32::try_from(count).unwrap_or(u32::MAX)));
        }
        entries.sort_unstable_by_key(|e| e.0);
        let mut list = HibpList {
            prefixes: Vec::with_capacity(entries.len()),
            counts: Vec::with_capacity(entries.len()),
        };
        for (p, c) in entries {
            if list.prefixes.last() == Some(&p) {
                if let Some(last) = list.counts.last_mut() {
                    *last = last.saturating_add(c);
                }
            } else {
                list.prefixes.push(p);
                list.counts.push(c);
            }
        }
        list.prefixes.shrink_to_fit();
        list.counts.shrink_to_fit();
        Ok(list)
    }

    /// Loads a file; see [`HibpList::from_reader`].
    pub fn from_path(path: impl AsRef<Path>, min_count: u64) -> Result<Self> {
        let path = path.as_ref();
        let file = std::fs::File::open(path)
            .map_err(|e| Error::Io { path: path.display().to_string(), reason: e.to_string() })?;
        Self::from_reader(std::io::BufReader::new(file), min_count)
    }

    /// Number of distinct entries.
    pub fn len(&self) -> usize {
        self.prefixes.len()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.prefixes.is_empty()
    }

    /// Heap bytes held by the entries (12 per entry).
    pub fn memory_bytes(&self) -> usize {
        self.prefixes.capacity() * 8 + self.counts.capacity() * 4
    }
}

impl BreachedPasswords for HibpList {
    fn occurrences(&self, sha1: &[u8; 20]) -> Result<u64> {
        let mut head = [0u8; 8];
        head.copy_from_slice(sha1.get(..8).unwrap_or(&[0; 8]));
        let key = u64::from_be_bytes(head);
        Ok(match self.prefixes.binary_search(&key) {
            Ok(i) => self.counts.get(i).copied().map_or(0, u64::from),
            Err(_) => 0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_counts_merges_and_rejects_bad_lines() {
        let text = "# comment\r\n\
                    7c4a8d09ca3762af61e59520943dc26494f8941b:5\r\n\
                    5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8:3\n\
                    \n\
                    5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8:4\n\
                    B1B3773A05C0ED0176787A4F1574FF0075F7521E\n";
        let l = HibpList::from_reader(text.as_bytes(), 1).unwrap();
        assert_eq!(l.len(), 3);
        assert_eq!(l.occurrences(&sha1_digest("password")).unwrap(), 7);
        assert_eq!(l.occurrences(&sha1_digest("123456")).unwrap(), 5);
        assert_eq!(l.occurrences(&sha1_digest("qwerty")).unwrap(), 1);
        assert_eq!(l.occurrences(&sha1_digest("not in the list")).unwrap(), 0);
        assert_eq!(l.memory_bytes(), 36);
        let filtered = HibpList::from_reader(text.as_bytes(), 5).unwrap();
        assert_eq!(filtered.occurrences(&sha1_digest("qwerty")).unwrap(), 0);
        for bad in [
            "5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD:1",
            "5BAA61E4C9B93F3F0682250B6CF8331B7EE68FDX:1",
            "5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8:x",
        ] {
            let e = HibpList::from_reader(bad.as_bytes(), 1).unwrap_err().to_string();
            assert!(e.contains("line 1"), "{e}");
        }
    }
}
