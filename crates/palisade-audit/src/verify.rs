//! Verification: is a log intact, and if not, where and what kind of tampering.
//!
//! Checks, per tenant, in chain order:
//! * every line parses (no duplicate members, known format version) — else `malformed`;
//! * every entry's content matches its `hash` — else `modified`;
//! * entries are numbered 1, 2, 3… and each `prev` is the hash of the entry before — a gap is
//!   `deleted`, an entry out of place is `reordered`, an extra entry is `inserted`, an entry
//!   that was rewritten with a recomputed hash is `modified` (its successor still commits to the
//!   original);
//! * every checkpoint is signed by one of the given keys — else `bad_signature`; the entry at a
//!   checkpoint's `seq` has the checkpoint's `head` — else `modified` (the chain was rewritten
//!   up to there); the log reaches the last checkpoint's `seq` — else `truncated`.
//!
//! Entries after the last checkpoint are only protected against truncation by the next
//! checkpoint; sign them often (see [`crate::CheckpointPolicy`]).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::chain::{Digest, RawEntry, Record, parse_line};
use crate::checkpoint::{SignedCheckpoint, VerifyingKey};
use crate::error::{Error, Result};

/// The kind of tampering found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TamperKind {
    /// A line is not a valid entry or checkpoint (edited into invalid JSON, torn, wrong version).
    Malformed,
    /// An entry's content was changed.
    Modified,
    /// Entries are missing from inside the chain.
    Deleted,
    /// An entry was added that is not part of the chain.
    Inserted,
    /// Entries are out of order.
    Reordered,
    /// Entries are missing from the end, according to a signed checkpoint.
    Truncated,
    /// A checkpoint's signature does not verify with any of the given keys.
    BadSignature,
}

impl TamperKind {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            TamperKind::Malformed => "malformed",
            TamperKind::Modified => "modified",
            TamperKind::Deleted => "deleted",
            TamperKind::Inserted => "inserted",
            TamperKind::Reordered => "reordered",
            TamperKind::Truncated => "truncated",
            TamperKind::BadSignature => "bad_signature",
        }
    }
}

/// A place in the input: file and 1-based line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Location {
    /// The file (or the name the caller gave the input).
    pub file: String,
    /// 1-based line number.
    pub line: u64,
}

/// The first problem found in one tenant's log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// What kind of tampering.
    pub kind: TamperKind,
    /// The tenant, when known.
    pub tenant: Option<String>,
    /// The sequence number of the bad entry, when there is one.
    pub seq: Option<u64>,
    /// Where it is.
    pub location: Option<Location>,
    /// What exactly is wrong.
    pub detail: String,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.kind.as_str())?;
        if let Some(t) = &self.tenant {
            write!(f, " in tenant {t}")?;
        }
        if let Some(s) = self.seq {
            write!(f, " at entry {s}")?;
        }
        if let Some(l) = &self.location {
            write!(f, " ({}:{})", l.file, l.line)?;
        }
        write!(f, ": {}", self.detail)
    }
}

/// What was checked for one tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TenantSummary {
    /// The tenant.
    pub tenant: String,
    /// Entries read.
    pub entries: u64,
    /// First and last sequence numbers.
    pub first_seq: Option<u64>,
    /// Last sequence number.
    pub last_seq: Option<u64>,
    /// Hash of the last entry.
    pub head: Option<String>,
    /// Checkpoints whose signature was verified.
    pub checkpoints_verified: u64,
    /// Checkpoints whose signature was not checked (no key given).
    pub checkpoints_unchecked: u64,
    /// The highest checkpointed sequence number.
    pub last_checkpoint_seq: Option<u64>,
}

/// The result of a verification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Whether no problem was found.
    pub intact: bool,
    /// The first problem (in tenant order, then chain order), if any.
    pub problem: Option<Finding>,
    /// The first problem of every tenant that has one.
    pub problems: Vec<Finding>,
    /// Per-tenant summaries.
    pub tenants: Vec<TenantSummary>,
    /// Things that limit what the verification proves.
    pub warnings: Vec<String>,
}

/// Checks logs. Configure it, then feed it lines or files.
///
/// ```
/// use palisade_audit::{Actor, AuditEvent, Verifier, chain};
/// use palisade_core::ManualClock;
/// use time::macros::datetime;
///
/// let clock = ManualClock::new(datetime!(2026-03-01 09:00 UTC));
/// let mut head = chain::ChainHead::EMPTY;
/// let mut lines = Vec::new();
/// for _ in 0..3 {
///     let event = AuditEvent::new(&clock, "acme".parse()?, Actor::system("cron"), "key.rotated")?;
///     let (entry, line) = chain::seal(head, event)?;
///     head = chain::ChainHead { seq: entry.seq, hash: entry.hash };
///     lines.push(line);
/// }
/// lines.remove(1); // delete entry 2
/// let report = Verifier::new().verify_lines("log", lines.iter().map(|l| l.as_slice()));
/// let problem = report.problem.unwrap();
/// assert_eq!(problem.kind.as_str(), "deleted");
/// assert_eq!(problem.seq, Some(3));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct Verifier {
    keys: Vec<VerifyingKey>,
    allow_missing_head: bool,
    require_checkpoint: bool,
}

#[derive(Clone)]
struct Loc {
    file: u32,
    line: u64,
}

struct Input {
    files: Vec<String>,
    malformed: Option<(Loc, String)>,
    entries: BTreeMap<String, Vec<(Loc, RawEntry)>>,
    checkpoints: BTreeMap<String, Vec<(Loc, SignedCheckpoint)>>,
}

impl Verifier {
    /// A verifier with no keys (checkpoint signatures are then not checked, only their
    /// consistency with the chain).
    pub fn new() -> Self {
        Self::default()
    }

    /// Accepts checkpoints signed by `key` (call again for each key in rotation).
    pub fn with_key(mut self, key: VerifyingKey) -> Self {
        self.keys.push(key);
        self
    }

    /// Accepts a chain that does not start at entry 1, for logs whose oldest segments were
    /// removed by retention.
    pub fn allow_missing_head(mut self, yes: bool) -> Self {
        self.allow_missing_head = yes;
        self
    }

    /// Fails a tenant whose log has no verified checkpoint.
    pub fn require_checkpoint(mut self, yes: bool) -> Self {
        self.require_checkpoint = yes;
        self
    }

    /// Verifies lines (each with or without its trailing `\n`) from one input named `name`.
    pub fn verify_lines<'a>(&self, name: &str, lines: impl IntoIterator<Item = &'a [u8]>) -> Report {
        let mut input = Input::new();
        input.files.push(name.to_owned());
        for (i, line) in lines.into_iter().enumerate() {
            let line = line.strip_suffix(b"\n").unwrap_or(line);
            input.add(Loc { file: 0, line: i as u64 + 1 }, line);
        }
        self.check(&input)
    }

    /// Verifies files. Segment files may be given in any order (they are ordered by the
    /// sequence numbers they hold); directories are searched for `*.jsonl` files.
    pub fn verify_files(&self, paths: &[PathBuf]) -> Result<Report> {
        let mut files = Vec::new();
        for p in paths {
            collect(p, &mut files)?;
        }
        let mut loaded = Vec::new();
        for path in files {
            let data = std::fs::read(&path).map_err(|e| Error::io("read", &path, e))?;
            let first_seq = data.split(|b| *b == b'\n').find_map(|l| match parse_line(l) {
                Ok(Record::Entry(e)) => Some(e.seq),
                _ => None,
            });
            loaded.push((first_seq.unwrap_or(u64::MAX), path, data));
        }
        loaded.sort_by_key(|(seq, _, _)| *seq);
        let mut input = Input::new();
        for (idx, (_, path, data)) in loaded.iter().enumerate() {
            input.files.push(path.display().to_string());
            let body = data.strip_suffix(b"\n").unwrap_or(data);
            if body.is_empty() {
                continue;
            }
            for (i, line) in body.split(|b| *b == b'\n').enumerate() {
                input.add(Loc { file: u32::try_from(idx).unwrap_or(u32::MAX), line: i as u64 + 1 }, line);
            }
        }
        Ok(self.check(&input))
    }

    fn check(&self, input: &Input) -> Report {
        let mut problems = Vec::new();
        let mut tenants = Vec::new();
        let mut warnings = Vec::new();
        if let Some((loc, why)) = &input.malformed {
            problems.push(Finding {
                kind: TamperKind::Malformed,
                tenant: None,
                seq: None,
                location: Some(input.location(loc)),
                detail: why.clone(),
            });
        }
        let mut names: Vec<&String> = input.entries.keys().chain(input.checkpoints.keys()).collect();
        names.sort();
        names.dedup();
        for tenant in names {
            let entries = input.entries.get(tenant).map(Vec::as_slice).unwrap_or_default();
            let cps = input.checkpoints.get(tenant).map(Vec::as_slice).unwrap_or_default();
            let (summary, finding) = self.check_tenant(input, tenant, entries, cps, &mut warnings);
            tenants.push(summary);
            if let Some(f) = finding {
                problems.push(f);
            }
        }
        if input.entries.is_empty() && input.malformed.is_none() {
            warnings.push("no audit entries found in the input".into());
        }
        Report {
            intact: problems.is_empty(),
            problem: problems.first().cloned(),
            problems,
            tenants,
            warnings,
        }
    }

    fn check_tenant(
        &self,
        input: &Input,
        tenant: &str,
        entries: &[(Loc, RawEntry)],
        cps: &[(Loc, SignedCheckpoint)],
        warnings: &mut Vec<String>,
    ) -> (TenantSummary, Option<Finding>) {
        let mut summary = TenantSummary {
            tenant: tenant.to_owned(),
            entries: entries.len() as u64,
            first_seq: entries.first().map(|(_, e)| e.seq),
            last_seq: None,
            head: None,
            checkpoints_verified: 0,
            checkpoints_unchecked: 0,
            last_checkpoint_seq: cps.iter().map(|(_, c)| c.seq).max(),
        };
        let finding = |kind, seq: Option<u64>, loc: Option<&Loc>, detail: String| Finding {
            kind,
            tenant: Some(tenant.to_owned()),
            seq,
            location: loc.map(|l| input.location(l)),
            detail,
        };
        if palisade_core::TenantId::new(tenant).is_err() {
            let loc = entries.first().map(|(l, _)| l).or(cps.first().map(|(l, _)| l));
            return (
                summary,
                Some(finding(
                    TamperKind::Malformed,
                    None,
                    loc,
                    format!("{tenant:?} is not a valid tenant id"),
                )),
            );
        }
        // The chain walk.
        let mut accepted: HashMap<u64, (Digest, Digest, Loc)> = HashMap::with_capacity(entries.len());
        let (mut expected, mut prev_hash) = match (self.allow_missing_head, entries.first()) {
            (true, Some((_, e))) => (e.seq, e.prev),
            _ => (1, Digest::GENESIS),
        };
        let mut last: Option<(u64, Digest, Loc)> = None;
        for (i, (loc, e)) in entries.iter().enumerate() {
            let next = entries.get(i + 1).map(|(_, n)| n);
            if !e.hash_ok() {
                return (
                    summary,
                    Some(finding(
                        TamperKind::Modified,
                        Some(e.seq),
                        Some(loc),
                        format!(
                            "the content of entry {} does not match its hash (it was edited after it was written)",
                            e.seq
                        ),
                    )),
                );
            }
            if e.seq == expected {
                if e.prev != prev_hash {
                    if next.is_some_and(|n| n.seq == e.seq && n.prev == prev_hash) {
                        return (
                            summary,
                            Some(finding(
                                TamperKind::Inserted,
                                Some(e.seq),
                                Some(loc),
                                format!(
                                    "entry {} is not part of the chain: the entry after it takes its place",
                                    e.seq
                                ),
                            )),
                        );
                    }
                    return match &last {
                        Some((pseq, _, ploc)) => (
                            summary,
                            Some(finding(
                                TamperKind::Modified,
                                Some(*pseq),
                                Some(ploc),
                                format!(
                                    "entry {pseq} was replaced (its hash was recomputed): entry {} committed to a different entry {pseq}",
                                    e.seq
                                ),
                            )),
                        ),
                        None if e.seq == 1 => (
                            summary,
                            Some(finding(
                                TamperKind::Modified,
                                Some(1),
                                Some(loc),
                                "entry 1 does not start a chain (its prev is not all zeros)".into(),
                            )),
                        ),
                        None => (
                            summary,
                            Some(finding(
                                TamperKind::Modified,
                                Some(e.seq),
                                Some(loc),
                                format!("entry {} does not link to its predecessor", e.seq),
                            )),
                        ),
                    };
                }
                accepted.insert(e.seq, (e.hash, e.prev, loc.clone()));
                prev_hash = e.hash;
                last = Some((e.seq, e.hash, loc.clone()));
                expected = e.seq.saturating_add(1);
            } else if e.seq > expected {
                let later_fills = entries.iter().skip(i + 1).any(|(_, n)| n.seq >= expected && n.seq < e.seq);
                if later_fills {
                    return (
                        summary,
                        Some(finding(
                            TamperKind::Reordered,
                            Some(e.seq),
                            Some(loc),
                            format!("entry {} appears before entry {expected}", e.seq),
                        )),
                    );
                }
                let missing = if e.seq - expected == 1 {
                    format!("entry {expected} is")
                } else {
                    format!("entries {expected} to {} are", e.seq - 1)
                };
                return (
                    summary,
                    Some(finding(
                        TamperKind::Deleted,
                        Some(e.seq),
                        Some(loc),
                        format!("{missing} missing before entry {}", e.seq),
                    )),
                );
            } else {
                match accepted.get(&e.seq) {
                    Some((h, _, first_loc)) if *h == e.hash => {
                        let at = input.location(first_loc);
                        return (
                            summary,
                            Some(finding(
                                TamperKind::Inserted,
                                Some(e.seq),
                                Some(loc),
                                format!("entry {} is a copy of the one at {}:{}", e.seq, at.file, at.line),
                            )),
                        );
                    }
                    Some((_, p, _)) if e.seq + 1 == expected && *p == e.prev => {
                        // Two entries claim the same place; the one the next entry links to is genuine.
                        if next.is_some_and(|n| n.prev == e.hash)
                            && let Some((lseq, _, lloc)) = &last
                        {
                            return (
                                summary,
                                Some(finding(
                                    TamperKind::Inserted,
                                    Some(*lseq),
                                    Some(lloc),
                                    format!(
                                        "entry {lseq} is not part of the chain: the entry after it takes its place",
                                    ),
                                )),
                            );
                        }
                        return (
                            summary,
                            Some(finding(
                                TamperKind::Inserted,
                                Some(e.seq),
                                Some(loc),
                                format!("a second entry {} was added", e.seq),
                            )),
                        );
                    }
                    _ => {
                        return (
                            summary,
                            Some(finding(
                                TamperKind::Reordered,
                                Some(e.seq),
                                Some(loc),
                                format!("entry {} appears after entry {}", e.seq, expected - 1),
                            )),
                        );
                    }
                }
            }
        }
        summary.last_seq = last.as_ref().map(|(s, _, _)| *s);
        summary.head = last.as_ref().map(|(_, h, _)| h.to_hex());
        let first_seq = summary.first_seq.unwrap_or(1);
        let last_seq = summary.last_seq.unwrap_or(0);
        // Checkpoints.
        let mut sorted: Vec<&(Loc, SignedCheckpoint)> = cps.iter().collect();
        sorted.sort_by_key(|(_, c)| c.seq);
        for (loc, cp) in &sorted {
            if self.keys.is_empty() {
                summary.checkpoints_unchecked += 1;
            } else if cp.verify(&self.keys) {
                summary.checkpoints_verified += 1;
            } else {
                return (
                    summary,
                    Some(finding(
                        TamperKind::BadSignature,
                        Some(cp.seq),
                        Some(loc),
                        format!(
                            "the checkpoint at entry {} (key id {}) is not signed by any given key",
                            cp.seq, cp.key_id
                        ),
                    )),
                );
            }
        }
        // The earliest checkpoint the chain disagrees with: the rewrite lies between the last
        // checkpoint that still matches and this one.
        let mut matched_up_to: Option<u64> = None;
        for (_, cp) in &sorted {
            if cp.seq == 0 || cp.seq < first_seq || cp.seq > last_seq {
                continue;
            }
            if let Some((h, _, eloc)) = accepted.get(&cp.seq) {
                if *h != cp.head {
                    let from = matched_up_to.map_or(first_seq, |m| m + 1);
                    let range = if from == cp.seq {
                        format!("entry {from} was")
                    } else {
                        format!("entries {from} to {} were", cp.seq)
                    };
                    let at = matched_up_to.map_or(cp.seq, |m| m + 1);
                    let loc = accepted.get(&at).map(|(_, _, l)| l).unwrap_or(eloc);
                    return (
                        summary,
                        Some(finding(
                            TamperKind::Modified,
                            Some(at),
                            Some(loc),
                            format!(
                                "the chain differs from the signed checkpoint at entry {} ({}): {range} rewritten with recomputed hashes",
                                cp.seq, cp.ts
                            ),
                        )),
                    );
                }
                matched_up_to = Some(cp.seq);
            }
        }
        if let Some((loc, cp)) = sorted.last()
            && cp.seq > last_seq
        {
            let end = last.as_ref().map(|(_, _, l)| l).unwrap_or(loc);
            let missing = if cp.seq - last_seq == 1 {
                format!("entry {} is", cp.seq)
            } else {
                format!("entries {} to {} are", last_seq + 1, cp.seq)
            };
            return (
                summary,
                Some(finding(
                    TamperKind::Truncated,
                    Some(last_seq + 1),
                    Some(end),
                    format!(
                        "the checkpoint of {} says the log had {} entries; {missing} missing from the end",
                        cp.ts, cp.seq
                    ),
                )),
            );
        }
        if summary.checkpoints_unchecked > 0 {
            warnings.push(format!(
                "tenant {tenant}: {} checkpoint signature(s) not checked: give --public-key",
                summary.checkpoints_unchecked
            ));
        }
        if cps.is_empty() && !entries.is_empty() {
            if self.require_checkpoint {
                let end = last.as_ref().map(|(_, _, l)| l);
                return (
                    summary,
                    Some(finding(
                        TamperKind::Truncated,
                        None,
                        end,
                        "no signed checkpoint: truncation cannot be ruled out".into(),
                    )),
                );
            }
            warnings.push(format!(
                "tenant {tenant}: no checkpoint, so removal of the newest entries cannot be detected"
            ));
        } else if let Some(cp) = summary.last_checkpoint_seq.filter(|s| *s < last_seq) {
            warnings.push(format!(
                "tenant {tenant}: entries {} to {last_seq} come after the last checkpoint ({cp})",
                cp + 1
            ));
        }
        (summary, None)
    }
}

impl Input {
    fn new() -> Self {
        Self { files: Vec::new(), malformed: None, entries: BTreeMap::new(), checkpoints: BTreeMap::new() }
    }

    fn add(&mut self, loc: Loc, line: &[u8]) {
        match parse_line(line) {
            Ok(Record::Entry(e)) => self.entries.entry(e.tenant.clone()).or_default().push((loc, e)),
            Ok(Record::Checkpoint(c)) => self.checkpoints.entry(c.tenant.clone()).or_default().push((loc, c)),
            Err(why) => {
                if self.malformed.is_none() {
                    let why = if line.is_empty() { "empty line".to_owned() } else { why };
                    self.malformed = Some((loc, why));
                }
            }
        }
    }

    fn location(&self, loc: &Loc) -> Location {
        Location { file: self.files.get(loc.file as usize).cloned().unwrap_or_default(), line: loc.line }
    }
}

fn collect(path: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io("read", path, e))?;
    if meta.is_dir() {
        let mut items: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|e| Error::io("list", path, e))?
            .filter_map(|d| d.ok().map(|d| d.path()))
            .collect();
        items.sort();
        for p in items {
            if p.is_dir() {
                collect(&p, out)?;
            } else if p.extension().is_some_and(|x| x == "jsonl") {
                out.push(p);
            }
        }
    } else {
        out.push(path.to_owned());
    }
    Ok(())
}
