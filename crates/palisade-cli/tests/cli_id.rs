//! The CLI's exit-code contract, on the `id` group.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests may

use assert_cmd::Command;

fn palisade() -> Command {
    Command::cargo_bin("palisade").unwrap()
}

#[test]
fn valid_id_exits_0() {
    let out = palisade().args(["id", "check", "--kind", "tenant", "acme"]).assert().code(0);
    assert!(String::from_utf8_lossy(&out.get_output().stdout).contains("valid tenant id"));
}

#[test]
fn invalid_id_exits_1_with_reason_in_json() {
    let out = palisade().args(["id", "check", "--kind", "user", "--json", "a b"]).assert().code(1);
    let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(v["valid"], false);
    assert!(v["error"].as_str().unwrap().contains("' '"));
}

#[test]
fn usage_error_exits_2() {
    palisade().args(["id", "check", "--kind", "planet", "x"]).assert().code(2);
    palisade().args(["no-such-group"]).assert().code(2);
}

#[test]
fn help_lists_groups() {
    let out = palisade().arg("--help").assert().code(0);
    assert!(String::from_utf8_lossy(&out.get_output().stdout).contains("id"));
}
