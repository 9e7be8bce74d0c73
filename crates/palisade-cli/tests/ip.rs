//! `palisade ip check`: the exit-code and format contract.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests may

use std::io::Write;

use assert_cmd::Command;

fn file(text: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(text.as_bytes()).unwrap();
    f
}

fn check(allow: &tempfile::NamedTempFile, extra: &[&str]) -> assert_cmd::assert::Assert {
    let mut cmd = Command::cargo_bin("palisade").unwrap();
    cmd.args(["ip", "check", "--allowlist"]).arg(allow.path()).args(extra);
    cmd.assert()
}

#[test]
fn allowed_denied_and_labels() {
    let allow = file("# office\n192.0.2.0/24 HQ office\n2001:db8::/32 v6\n");
    let out = check(&allow, &["--peer", "192.0.2.10", "--json"]).code(0);
    let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(v["allowed"], true);
    assert_eq!(v["reason"]["label"], "HQ office");
    assert_eq!(v["reason"]["rule"], "192.0.2.0/24");
    check(&allow, &["--peer", "198.51.100.1"]).code(1);
    check(&allow, &["--peer", "::ffff:192.0.2.10"]).code(0);
    check(&allow, &["--peer", "[2001:db8::1]:443"]).code(0);
}

#[test]
fn headers_only_believed_from_trusted_proxies() {
    let allow = file("192.0.2.0/24\n");
    let proxies = file("10.0.0.0/8 lb\n");
    // No trusted proxies: the header is ignored.
    check(&allow, &["--peer", "10.0.0.1", "--forwarded-for", "192.0.2.5"]).code(1);
    let p = proxies.path().to_str().unwrap();
    check(&allow, &["--trusted-proxies", p, "--peer", "10.0.0.1", "--forwarded-for", "192.0.2.5"]).code(0);
    check(
        &allow,
        &["--trusted-proxies", p, "--peer", "10.0.0.1", "--forwarded-for", "192.0.2.5, 203.0.113.1"],
    )
    .code(1);
    check(
        &allow,
        &["--trusted-proxies", p, "--peer", "10.0.0.1", "--forwarded", "for=192.0.2.5;proto=https"],
    )
    .code(0);
    check(&allow, &["--trusted-proxies", p, "--peer", "10.0.0.1", "--forwarded", "for=\"[2001:db8::1]\""])
        .code(1);
    // Malformed header: never the left-most value.
    check(&allow, &["--trusted-proxies", p, "--peer", "10.0.0.1", "--forwarded-for", "192.0.2.5, junk"])
        .code(1);
}

#[test]
fn bad_input_exits_2_with_line_numbers() {
    let allow = file("192.0.2.0/24\n\n10.0.0.1/8 oops\n");
    let out = check(&allow, &["--peer", "192.0.2.1"]).code(2);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(err.contains("line 3") && err.contains("10.0.0.0/8"), "{err}");
    let allow = file("192.0.2.0/24\n");
    check(&allow, &["--peer", "not-an-ip"]).code(2);
    check(&allow, &["--peer", "fe80::1%eth0"]).code(2);
    Command::cargo_bin("palisade")
        .unwrap()
        .args(["ip", "check", "--allowlist", "/nonexistent", "--peer", "1.1.1.1"])
        .assert()
        .code(2);
}

#[test]
fn empty_allowlist_denies() {
    let allow = file("# nothing\n");
    check(&allow, &["--peer", "192.0.2.1"]).code(1);
}
