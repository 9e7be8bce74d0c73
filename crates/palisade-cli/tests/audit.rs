//! `palisade audit verify|query|append|keygen`: the contract of the issue.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;

fn palisade() -> Command {
    Command::cargo_bin("palisade").unwrap()
}

/// Runs `palisade audit <args>`, expects exit `code`, and parses the JSON it printed.
fn json_run(args: &[&str], code: i32) -> serde_json::Value {
    let out = palisade().arg("audit").args(args).assert().code(code);
    serde_json::from_slice(&out.get_output().stdout).unwrap()
}

fn append(dir: &Path, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["append", "--dir", dir.to_str().unwrap(), "--json"];
    args.extend_from_slice(extra);
    json_run(&args, 0)
}

fn segment(dir: &Path, tenant: &str) -> PathBuf {
    dir.join(format!("{tenant}.00000000000000000001.jsonl"))
}

fn three(dir: &Path, key: Option<&Path>) {
    for (actor, action, target) in [
        ("alice", "user.login.succeeded", "user:alice"),
        ("alice", "role.assigned", "user:bob"),
        ("ops", "key.rotated", "key:k1"),
    ] {
        let mut extra = vec!["--tenant", "acme", "--actor", actor, "--action", action, "--target", target];
        if let Some(k) = key {
            extra.extend_from_slice(&["--signing-key", k.to_str().unwrap()]);
        }
        append(dir, &extra);
    }
}

#[test]
fn append_then_verify_intact() {
    let d = tempfile::tempdir().unwrap();
    let v = append(
        d.path(),
        &[
            "--tenant",
            "acme",
            "--actor",
            "alice",
            "--action",
            "user.mfa.reset",
            "--target",
            "user:bob",
            "--outcome",
            "failure:no factor",
        ],
    );
    assert_eq!(v["seq"], 1);
    let v = append(d.path(), &["--tenant", "acme", "--actor", "alice", "--action", "user.logout"]);
    assert_eq!(v["seq"], 2);
    let seg = segment(d.path(), "acme");
    let out = palisade().args(["audit", "verify", seg.to_str().unwrap()]).assert().code(0);
    assert!(String::from_utf8_lossy(&out.get_output().stdout).contains("intact"));
    // A directory works too.
    let v = json_run(&["verify", "--json", d.path().to_str().unwrap()], 0);
    assert_eq!(v["intact"], true);
    assert_eq!(v["tenants"][0]["entries"], 2);
}

#[test]
fn one_changed_byte_exits_1_naming_entry_and_kind() {
    let d = tempfile::tempdir().unwrap();
    three(d.path(), None);
    let seg = segment(d.path(), "acme");
    let text = std::fs::read_to_string(&seg).unwrap();
    let i = text.find("\"bob\"").unwrap() + 1;
    let mut bytes = text.into_bytes();
    bytes[i] = b'r'; // bob -> rob
    std::fs::write(&seg, bytes).unwrap();
    let out = palisade().args(["audit", "verify", seg.to_str().unwrap()]).assert().code(1);
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(stdout.contains("modified") && stdout.contains("entry 2"), "{stdout}");
    let v = json_run(&["verify", "--json", seg.to_str().unwrap()], 1);
    assert_eq!(v["intact"], false);
    assert_eq!(v["problem"]["kind"], "modified");
    assert_eq!(v["problem"]["seq"], 2);
    assert_eq!(v["problem"]["location"]["line"], 2);
}

#[test]
fn deleted_line_exits_1() {
    let d = tempfile::tempdir().unwrap();
    three(d.path(), None);
    let seg = segment(d.path(), "acme");
    let text = std::fs::read_to_string(&seg).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    std::fs::write(&seg, format!("{}\n{}\n", lines[0], lines[2])).unwrap();
    let v = json_run(&["verify", "--json", seg.to_str().unwrap()], 1);
    assert_eq!(v["problem"]["kind"], "deleted");
}

#[test]
fn signed_checkpoints_with_public_key() {
    let d = tempfile::tempdir().unwrap();
    let key = d.path().join("audit.key");
    let out = palisade().args(["audit", "keygen", "--out", key.to_str().unwrap()]).assert().code(0);
    let public = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(public.contains("BEGIN PUBLIC KEY"));
    let pubfile = d.path().join("audit.pub");
    std::fs::write(&pubfile, &public).unwrap();
    let logs = d.path().join("logs");
    three(&logs, Some(&key));
    let seg = segment(&logs, "acme");
    let cps = logs.join("acme.checkpoints.jsonl");
    palisade()
        .args([
            "audit",
            "verify",
            "--public-key",
            pubfile.to_str().unwrap(),
            seg.to_str().unwrap(),
            cps.to_str().unwrap(),
        ])
        .assert()
        .code(0);
    // Truncate the newest entry: the last checkpoint says there were 3.
    let text = std::fs::read_to_string(&seg).unwrap();
    let two: String = text.lines().take(2).map(|l| format!("{l}\n")).collect();
    std::fs::write(&seg, two).unwrap();
    let v = json_run(
        &[
            "verify",
            "--json",
            "--public-key",
            pubfile.to_str().unwrap(),
            seg.to_str().unwrap(),
            cps.to_str().unwrap(),
        ],
        1,
    );
    assert_eq!(v["problem"]["kind"], "truncated");
    assert_eq!(v["problem"]["seq"], 3);
    // Another key: the checkpoints do not verify.
    let other = d.path().join("other.key");
    let out = palisade().args(["audit", "keygen", "--out", other.to_str().unwrap()]).assert().code(0);
    let other_pub = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    // The key may also be given inline.
    palisade()
        .args(["audit", "verify", "--public-key", other_pub.trim(), logs.to_str().unwrap()])
        .assert()
        .code(1);
    palisade()
        .args(["audit", "verify", "--public-key", "not-a-key", logs.to_str().unwrap()])
        .assert()
        .code(2);
    let other_file = d.path().join("other.pub");
    std::fs::write(&other_file, other_pub).unwrap();
    let v = json_run(
        &["verify", "--json", "--public-key", other_file.to_str().unwrap(), logs.to_str().unwrap()],
        1,
    );
    assert_eq!(v["problem"]["kind"], "bad_signature");
}

#[test]
fn query_filters() {
    let d = tempfile::tempdir().unwrap();
    three(d.path(), None);
    append(d.path(), &["--tenant", "globex", "--actor", "carol", "--action", "user.login.failed"]);
    let dir = d.path().to_str().unwrap();
    let v = json_run(&["query", dir, "--tenant", "acme", "--json"], 0);
    assert_eq!(v["events"].as_array().unwrap().len(), 3);
    let v = json_run(&["query", dir, "--tenant", "acme", "--action", "user.login", "--json"], 0);
    assert_eq!(v["events"].as_array().unwrap().len(), 1);
    assert_eq!(v["events"][0]["event"]["action"], "user.login.succeeded");
    let out = palisade().args(["audit", "query", dir, "--tenant", "acme", "--since", "1h"]).assert().code(0);
    assert_eq!(String::from_utf8_lossy(&out.get_output().stdout).lines().count(), 3);
    let v = json_run(&["query", dir, "--tenant", "acme", "--since", "2999-01-01T00:00:00Z", "--json"], 0);
    assert_eq!(v["count"], 0);
    let v = json_run(&["query", dir, "--tenant", "acme", "--limit", "2", "--json"], 0);
    let cursor = v["next_cursor"].as_str().unwrap().to_owned();
    let v = json_run(&["query", dir, "--tenant", "acme", "--cursor", &cursor, "--json"], 0);
    assert_eq!(v["events"][0]["seq"], 3);
    let out =
        palisade().args(["audit", "query", dir, "--tenant", "globex", "--ocsf", "--json"]).assert().code(0);
    let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(v["events"][0]["class_uid"], 3002);
}

#[test]
fn usage_errors_exit_2() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().to_str().unwrap();
    // One bad value at a time in an otherwise valid append.
    let append_with = |tenant: &str, action: &str, extra: &[&str]| {
        let mut args =
            vec!["audit", "append", "--dir", dir, "--tenant", tenant, "--actor", "a", "--action", action];
        args.extend_from_slice(extra);
        palisade().args(&args).assert().code(2);
    };
    append_with("bad tenant", "user.logout", &[]);
    append_with("acme", "NotDotted", &[]);
    append_with("acme", "user.logout", &["--target", "nocolon"]);
    append_with("acme", "user.logout", &["--outcome", "maybe"]);
    palisade().args(["audit", "verify", d.path().join("missing.jsonl").to_str().unwrap()]).assert().code(2);
    palisade()
        .args(["audit", "query", d.path().join("nope").to_str().unwrap(), "--tenant", "acme"])
        .assert()
        .code(2);
    palisade().args(["audit", "verify"]).assert().code(2);
}

#[test]
fn without_a_key_the_local_checkpoint_key_catches_a_removed_last_entry() {
    let d = tempfile::tempdir().unwrap();
    three(d.path(), None);
    let seg = segment(d.path(), "acme");
    let text = std::fs::read_to_string(&seg).unwrap();
    let two: String = text.lines().take(2).map(|l| format!("{l}\n")).collect();
    std::fs::write(&seg, two).unwrap();
    let v = json_run(&["verify", "--json", d.path().to_str().unwrap()], 1);
    assert_eq!(v["problem"]["kind"], "truncated");
    // The local key's public half verifies the checkpoints of the intact part too.
    let pubkey = d.path().join(".checkpoint-key.pub.pem");
    palisade()
        .args(["audit", "verify", "--public-key", pubkey.to_str().unwrap(), seg.to_str().unwrap()])
        .assert()
        .code(0);
}
