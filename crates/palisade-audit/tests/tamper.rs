//! Every kind of tampering is detected, named and located.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::PathBuf;
use std::sync::Arc;

use palisade_audit::chain::{self, ChainHead};
use palisade_audit::{
    Actor, AuditEvent, CheckpointPolicy, Checkpointing, Ed25519Signer, FileAuditStore, FileStoreConfig,
    Report, TamperKind, Verifier, VerifyingKey,
};
use palisade_core::{ManualClock, TenantId};
use proptest::prelude::*;
use time::macros::datetime;

struct Log {
    _dir: tempfile::TempDir,
    segment: PathBuf,
    checkpoints: PathBuf,
    key: VerifyingKey,
}

/// Ten entries for tenant acme, a signed checkpoint after every entry.
fn log(n: u64) -> Log {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(datetime!(2026-03-01 09:00 UTC)));
    let signer = Arc::new(Ed25519Signer::generate().unwrap());
    let key = signer.verifying_key();
    let cp = Checkpointing {
        signer,
        policy: CheckpointPolicy { every_entries: 1, every: time::Duration::hours(1) },
    };
    let store =
        FileAuditStore::open(dir.path(), FileStoreConfig::default(), clock.clone(), Some(cp)).unwrap();
    let tenant: TenantId = "acme".parse().unwrap();
    for i in 0..n {
        let e =
            AuditEvent::new(clock.as_ref(), tenant.clone(), Actor::system(format!("job-{i}")), "key.rotated")
                .unwrap();
        store.append_blocking(vec![e]).unwrap();
        clock.advance(time::Duration::seconds(1));
    }
    drop(store);
    Log {
        segment: dir.path().join("acme.00000000000000000001.jsonl"),
        checkpoints: dir.path().join("acme.checkpoints.jsonl"),
        _dir: dir,
        key,
    }
}

fn lines(p: &PathBuf) -> Vec<String> {
    std::fs::read_to_string(p).unwrap().lines().map(str::to_owned).collect()
}

fn write(p: &PathBuf, lines: &[String]) {
    std::fs::write(p, lines.iter().map(|l| format!("{l}\n")).collect::<String>()).unwrap();
}

fn verify(l: &Log) -> Report {
    Verifier::new().with_key(l.key).verify_files(&[l.segment.clone(), l.checkpoints.clone()]).unwrap()
}

fn expect(report: &Report, kind: TamperKind, seq: Option<u64>) {
    let p = report.problem.as_ref().unwrap_or_else(|| panic!("expected {kind:?}, got intact"));
    assert_eq!((p.kind, p.seq), (kind, seq), "{p}");
    assert!(!report.intact);
}

#[test]
fn untouched_log_is_intact() {
    let l = log(10);
    let r = verify(&l);
    assert!(r.intact, "{:?}", r.problem);
    assert_eq!(r.tenants[0].entries, 10);
    assert_eq!(r.tenants[0].checkpoints_verified, 10);
}

#[test]
fn one_changed_byte_is_modification_of_that_entry() {
    let l = log(10);
    let mut ls = lines(&l.segment);
    ls[4] = ls[4].replace("job-4", "job-X");
    write(&l.segment, &ls);
    let r = verify(&l);
    expect(&r, TamperKind::Modified, Some(5));
    assert_eq!(r.problem.unwrap().location.unwrap().line, 5);
}

#[test]
fn deleted_entry() {
    let l = log(10);
    let mut ls = lines(&l.segment);
    ls.remove(3);
    write(&l.segment, &ls);
    let r = verify(&l);
    expect(&r, TamperKind::Deleted, Some(5));
    assert!(r.problem.unwrap().detail.contains("entry 4 is missing"));
}

#[test]
fn swapped_entries_are_reordered() {
    let l = log(10);
    let mut ls = lines(&l.segment);
    ls.swap(2, 3);
    write(&l.segment, &ls);
    expect(&verify(&l), TamperKind::Reordered, Some(4));
}

#[test]
fn duplicated_entry_is_insertion() {
    let l = log(10);
    let mut ls = lines(&l.segment);
    let copy = ls[1].clone();
    ls.insert(5, copy);
    write(&l.segment, &ls);
    expect(&verify(&l), TamperKind::Inserted, Some(2));
}

#[test]
fn forged_entry_sealed_into_the_chain_is_insertion() {
    let l = log(10);
    let mut ls = lines(&l.segment);
    // The attacker seals a new entry 3 after entry 2 and slips it in before the real entry 3.
    let v: serde_json::Value = serde_json::from_str(&ls[1]).unwrap();
    let head =
        ChainHead { seq: 2, hash: palisade_audit::Digest::from_hex(v["hash"].as_str().unwrap()).unwrap() };
    let clock = ManualClock::new(datetime!(2026-03-01 09:00:02 UTC));
    let forged =
        AuditEvent::new(&clock, "acme".parse().unwrap(), Actor::system("evil"), "role.assigned").unwrap();
    let (_, line) = chain::seal(head, forged).unwrap();
    ls.insert(2, String::from_utf8(line).unwrap().trim_end().to_owned());
    write(&l.segment, &ls);
    let r = verify(&l);
    expect(&r, TamperKind::Inserted, Some(3));
    assert_eq!(r.problem.unwrap().location.unwrap().line, 3);
}

#[test]
fn rewritten_entry_with_recomputed_hash_is_modification() {
    let l = log(10);
    let mut ls = lines(&l.segment);
    let mut v: serde_json::Value = serde_json::from_str(&ls[5]).unwrap();
    v["event"]["actor"]["id"] = "someone-else".into();
    let obj = v.as_object_mut().unwrap();
    obj.remove("hash");
    let h = chain::hash_of(&v);
    v["hash"] = h.to_hex().into();
    ls[5] = v.to_string();
    write(&l.segment, &ls);
    expect(&verify(&l), TamperKind::Modified, Some(6));
}

#[test]
fn rewritten_tail_is_caught_by_the_checkpoint() {
    let l = log(10);
    let mut ls = lines(&l.segment);
    // Rewrite entries 8..=10 consistently (recomputing every hash); only checkpoints can tell.
    let mut prev: serde_json::Value = serde_json::from_str(&ls[6]).unwrap();
    for line in ls.iter_mut().skip(7) {
        let mut v: serde_json::Value = serde_json::from_str(line).unwrap();
        v["event"]["action"] = "user.logout".into();
        v["prev"] = prev["hash"].clone();
        v.as_object_mut().unwrap().remove("hash");
        let h = chain::hash_of(&v);
        v["hash"] = h.to_hex().into();
        *line = v.to_string();
        prev = v;
    }
    write(&l.segment, &ls);
    expect(&verify(&l), TamperKind::Modified, Some(8));
    // Without the checkpoints, the rewrite is invisible: that is why they exist.
    let r = Verifier::new().verify_files(std::slice::from_ref(&l.segment)).unwrap();
    assert!(r.intact);
}

#[test]
fn truncation_against_the_last_checkpoint() {
    let l = log(10);
    let mut ls = lines(&l.segment);
    ls.truncate(7);
    write(&l.segment, &ls);
    let r = verify(&l);
    expect(&r, TamperKind::Truncated, Some(8));
    assert!(r.problem.unwrap().detail.contains("entries 8 to 10 are missing"));
}

#[test]
fn consistent_truncation_of_log_and_checkpoints_is_caught_by_a_checkpoint_kept_elsewhere() {
    let l = log(10);
    let cps = lines(&l.checkpoints);
    let streamed_out = cps.last().unwrap().clone(); // e.g. delivered to a SIEM
    let mut ls = lines(&l.segment);
    ls.truncate(7);
    write(&l.segment, &ls);
    write(&l.checkpoints, &cps[..7]);
    assert!(verify(&l).intact, "a consistent truncation of both files looks intact on its own");
    let external = l.segment.with_file_name("siem-copy.jsonl");
    write(&external, &[streamed_out]);
    let r = Verifier::new()
        .with_key(l.key)
        .verify_files(&[l.segment.clone(), l.checkpoints.clone(), external])
        .unwrap();
    expect(&r, TamperKind::Truncated, Some(8));
}

#[test]
fn forged_checkpoint_signature() {
    let l = log(5);
    let mut cps = lines(&l.checkpoints);
    let last = cps.len() - 1;
    cps[last] = cps[last].replace("\"seq\":5", "\"seq\":4");
    write(&l.checkpoints, &cps);
    expect(&verify(&l), TamperKind::BadSignature, Some(4));
    // A different key does not verify either.
    let other = Ed25519Signer::generate().unwrap().verifying_key();
    let l2 = log(3);
    let r =
        Verifier::new().with_key(other).verify_files(&[l2.segment.clone(), l2.checkpoints.clone()]).unwrap();
    expect(&r, TamperKind::BadSignature, Some(1));
}

#[test]
fn malformed_line() {
    let l = log(5);
    let mut ls = lines(&l.segment);
    ls[2] = ls[2][..ls[2].len() / 2].to_owned();
    write(&l.segment, &ls);
    let r = verify(&l);
    expect(&r, TamperKind::Malformed, None);
    assert_eq!(r.problem.unwrap().location.unwrap().line, 3);
}

#[test]
fn segments_given_in_any_order_verify() {
    let l = log(4);
    let ls = lines(&l.segment);
    let dir = l.segment.parent().unwrap();
    let a = dir.join("acme.00000000000000000001.jsonl");
    let b = dir.join("acme.00000000000000000003.jsonl");
    write(&a, &ls[..2]);
    write(&b, &ls[2..]);
    let r =
        Verifier::new().with_key(l.key).verify_files(&[b.clone(), l.checkpoints.clone(), a.clone()]).unwrap();
    assert!(r.intact, "{:?}", r.problem);
    std::fs::remove_file(&a).unwrap();
    let r = Verifier::new().with_key(l.key).verify_files(&[b, l.checkpoints.clone()]).unwrap();
    expect(&r, TamperKind::Deleted, Some(3));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
    /// Any single changed byte anywhere in the segment is detected.
    #[test]
    fn any_flipped_byte_is_detected(pos in 0usize..10_000, bit in 0u8..8) {
        let l = log(4);
        let mut data = std::fs::read(&l.segment).unwrap();
        let i = pos % data.len();
        data[i] ^= 1 << bit;
        std::fs::write(&l.segment, &data).unwrap();
        let r = verify(&l);
        prop_assert!(!r.intact, "flipping bit {} of byte {} went unnoticed", bit, i);
    }
}

/// Regression (found by `any_flipped_byte_is_detected`): changing the case of any letter — in
/// particular of a hex digit in `hash` or `prev` — is detected, because a line has exactly one
/// valid spelling.
#[test]
fn changed_letter_case_is_detected_everywhere() {
    let l = log(2);
    let original = std::fs::read(&l.segment).unwrap();
    for i in 0..original.len() {
        if !original[i].is_ascii_alphabetic() {
            continue;
        }
        let mut data = original.clone();
        data[i] ^= 0x20;
        std::fs::write(&l.segment, &data).unwrap();
        assert!(!verify(&l).intact, "case change at byte {i} went unnoticed");
    }
    std::fs::write(&l.segment, &original).unwrap();
    assert!(verify(&l).intact);
}
