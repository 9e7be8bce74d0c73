#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
//! `palisade retention plan|run` against a SQLite file built as the crate README documents.

use assert_cmd::Command;
use std::path::Path;

const POLICY: &str = r#"
classes = ["job_history"]
default_plan = "base"

[plans.base.job_history]
default = "30d"
min = "30d"
max = "30d"

[plans.enterprise.job_history]
default = "30d"
min = "1h"
max = "90d"

[tenants.acme]
plan = "enterprise"
periods = { job_history = "2h" }

[[holds]]
id = "case-1"
tenant = "held"
placed_by = "counsel@example.com"
reason = "litigation"
placed_at = "2026-01-01T00:00:00Z"
"#;

// 2026-06-01T00:00:00Z
const NOW: i64 = 1_780_272_000;

fn build(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let db = dir.join("jobs.sqlite");
    let c = rusqlite::Connection::open(&db).unwrap();
    c.execute_batch(
        "CREATE TABLE job_history (
            id TEXT NOT NULL, tenant TEXT NOT NULL, class TEXT NOT NULL DEFAULT 'job_history',
            started_at INTEGER NOT NULL, ended_at INTEGER, needed INTEGER NOT NULL DEFAULT 0);",
    )
    .unwrap();
    let day = 86_400;
    let rows: &[(&str, &str, i64, Option<i64>)] = &[
        ("a1", "acme", NOW - 4 * 3600, Some(NOW - 3 * 3600)), // past 2h: goes
        ("a2", "acme", NOW - 3600, Some(NOW - 3600)),         // 1h: stays
        ("a3", "acme", NOW - 5 * 3600, None),                 // running: stays
        ("b1", "bravo", NOW - 40 * day, Some(NOW - 31 * day)), // goes
        ("b2", "bravo", NOW - 40 * day, Some(NOW - 29 * day)), // stays
        ("h1", "held", NOW - 400 * day, Some(NOW - 399 * day)), // held
    ];
    for (id, tenant, s, e) in rows {
        c.execute(
            "INSERT INTO job_history (id, tenant, started_at, ended_at) VALUES (?1, ?2, ?3, ?4)",
            rusqlite::params![id, tenant, s, e],
        )
        .unwrap();
    }
    let policy = dir.join("policy.toml");
    std::fs::write(&policy, POLICY).unwrap();
    (db, policy)
}

fn count(db: &Path) -> i64 {
    rusqlite::Connection::open(db)
        .unwrap()
        .query_row("SELECT count(*) FROM job_history", [], |r| r.get(0))
        .unwrap()
}

fn cmd(sub: &str, db: &Path, policy: &Path) -> Command {
    let mut c = Command::cargo_bin("palisade").unwrap();
    c.args(["retention", sub, "--policy"])
        .arg(policy)
        .arg("--db")
        .arg(db)
        .args(["--now", "2026-06-01T00:00:00Z"]);
    c
}

#[test]
fn plan_then_run() {
    let dir = tempfile::tempdir().unwrap();
    let (db, policy) = build(dir.path());
    let out = cmd("plan", &db, &policy).arg("--json").assert().success().get_output().stdout.clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["dry_run"], true);
    assert_eq!(v["total_deleted"], 2);
    let acme = v["scopes"].as_array().unwrap().iter().find(|s| s["tenant"] == "acme").unwrap();
    assert_eq!(acme["deleted"], 1);
    assert_eq!(acme["period"], "2h");
    assert_eq!(acme["cutoff"], "2026-05-31T22:00:00Z");
    let held = v["scopes"].as_array().unwrap().iter().find(|s| s["tenant"] == "held").unwrap();
    assert_eq!(held["held_by"], "case-1");
    assert_eq!(count(&db), 6, "plan deleted rows");

    let human = cmd("plan", &db, &policy).assert().success().get_output().stdout.clone();
    assert!(String::from_utf8(human).unwrap().contains("would delete 2"));

    let out = cmd("run", &db, &policy).arg("--json").assert().success().get_output().stdout.clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["dry_run"], false);
    assert_eq!(v["total_deleted"], 2);
    assert_eq!(count(&db), 4);
    let ids: Vec<String> = rusqlite::Connection::open(&db)
        .unwrap()
        .prepare("SELECT id FROM job_history ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(ids, ["a2", "a3", "b2", "h1"]);
    // Idempotent.
    let out = cmd("run", &db, &policy).arg("--json").assert().success().get_output().stdout.clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["total_deleted"], 0);
}

#[test]
fn bad_inputs_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let (db, policy) = build(dir.path());
    cmd("plan", &dir.path().join("nope.sqlite"), &policy).assert().code(2);
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, POLICY.replace("\"2h\"", "\"100d\"")).unwrap();
    let err = cmd("plan", &db, &bad).assert().code(2).get_output().stderr.clone();
    assert!(String::from_utf8(err).unwrap().contains("1h..=90d"));
    Command::cargo_bin("palisade")
        .unwrap()
        .args(["retention", "plan", "--policy"])
        .arg(&policy)
        .arg("--db")
        .arg(&db)
        .args(["--now", "yesterday"])
        .assert()
        .code(2);
    assert_eq!(count(&db), 6);
}
