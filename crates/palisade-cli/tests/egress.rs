//! `palisade egress check`: the exit-code and flag contract.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests may

use std::io::Write;

use assert_cmd::Command;

fn check(args: &[&str]) -> assert_cmd::assert::Assert {
    Command::cargo_bin("palisade").unwrap().args(["egress", "check"]).args(args).assert()
}

#[test]
fn default_policy_denies_internal_targets() {
    check(&["--policy", "default", "http://169.254.169.254/latest/meta-data/"]).code(1);
    check(&["--policy", "default", "http://0x7f.1/"]).code(1);
    check(&["--policy", "default", "http://[::ffff:127.0.0.1]/"]).code(1);
    check(&["--policy", "default", "--resolve", "api.example.com=93.184.215.14", "https://api.example.com/"])
        .code(0);
    // Rebinding: one private address among public ones.
    let out = check(&[
        "--policy",
        "default",
        "--resolve",
        "x.test=93.184.215.14,10.0.0.1",
        "--json",
        "https://x.test/",
    ])
    .code(1);
    let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(v["allowed"], false);
    assert_eq!(v["reason"]["kind"], "builtin");
    assert_eq!(v["reason"]["cidr"], "10.0.0.0/8");
    assert_eq!(v["addresses"].as_array().unwrap().len(), 2);
    // Several --resolve options.
    check(&[
        "--policy",
        "default",
        "--resolve",
        "a.test=93.184.215.14",
        "--resolve",
        "b.test=127.0.0.1",
        "https://b.test/",
    ])
    .code(1);
}

#[test]
fn policy_files_toml_and_json() {
    let mut toml = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
    writeln!(toml, "[[allow]]\nhost = \"*.example.com\"\nschemes = [\"https\"]\nlabel = \"partner\"\n")
        .unwrap();
    let p = toml.path().to_str().unwrap();
    let out = check(&[
        "--policy",
        p,
        "--resolve",
        "a.example.com=93.184.215.14",
        "--json",
        "https://a.example.com/x",
    ])
    .code(0);
    let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(v["reason"]["rule"], "allow[0]");
    assert_eq!(v["reason"]["label"], "partner");
    check(&["--policy", p, "--resolve", "example.com=93.184.215.14", "https://example.com/"]).code(1);
    let mut json = tempfile::Builder::new().suffix(".json").tempfile().unwrap();
    write!(json, r#"{{"allow":[{{"cidr":"127.0.0.0/8"}}],"allow_builtin":["127.0.0.0/8"]}}"#).unwrap();
    check(&["--policy", json.path().to_str().unwrap(), "http://127.0.0.1:8080/"]).code(0);
}

#[test]
fn bad_input_exits_2() {
    check(&["--policy", "default", "not a url"]).code(2);
    check(&["--policy", "default", "--resolve", "nohost", "http://x.test/"]).code(2);
    check(&["--policy", "/nonexistent.toml", "http://x.test/"]).code(2);
    let mut bad = tempfile::Builder::new().suffix(".json").tempfile().unwrap();
    write!(bad, r#"{{"allow":[{{"cidr":"10.0.0.1/8"}}]}}"#).unwrap();
    check(&["--policy", bad.path().to_str().unwrap(), "http://x.test/"]).code(2);
}
