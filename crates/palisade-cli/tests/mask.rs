//! `palisade mask`: output, report, exit codes and byte offsets.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use assert_cmd::Command;

fn palisade() -> Command {
    Command::cargo_bin("palisade").unwrap()
}

#[test]
fn default_policy_masks_stdin_json() {
    let out = palisade()
        .args(["mask", "--policy", "default", "--report"])
        .write_stdin(r#"{"user":"jo","Password":"hunter2","note":"card 4111-1111-1111-1111","n":[1, 2]}"#)
        .assert()
        .success();
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert_eq!(
        stdout.trim_end(),
        r#"{"user":"jo","Password":"[REDACTED]","note":"card [REDACTED:card]","n":[1, 2]}"#
    );
    let stderr = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    let report: serde_json::Value = serde_json::from_str(stderr.trim()).unwrap();
    assert_eq!(report["masked"][0]["path"], "$.Password");
    assert_eq!(report["masked"][1]["rule"], "detector:card");
    assert!(!stderr.contains("hunter2") && !stderr.contains("4111"));
}

#[test]
fn malformed_json_exits_2_with_offset_and_no_output() {
    let out = palisade()
        .args(["mask", "--policy", "default"])
        .write_stdin(r#"{"a": "jo@example.com",}"#)
        .assert()
        .code(2);
    assert!(out.get_output().stdout.is_empty());
    let stderr = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    assert!(stderr.contains("byte offset 23"), "{stderr}");
}

#[test]
fn text_mode_and_policy_file_with_pseudonyms() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("p.toml");
    std::fs::write(
        &policy,
        "[[fields]]\npath = \"customer.email\"\noperator = { op = \"pseudonym\" }\n\n[[detectors]]\nkind = \"email\"\n",
    )
    .unwrap();
    let key = dir.path().join("k");
    std::fs::write(&key, [7u8; 32]).unwrap();
    let input = dir.path().join("in.json");
    std::fs::write(&input, r#"{"customer":{"email":"a@example.com"},"cc":"a@example.com"}"#).unwrap();
    let run = || {
        let out = palisade()
            .args(["mask", "--policy", policy.to_str().unwrap(), "--key-file", key.to_str().unwrap()])
            .arg(&input)
            .assert()
            .success();
        String::from_utf8(out.get_output().stdout.clone()).unwrap()
    };
    let first = run();
    assert_eq!(first, run());
    let v: serde_json::Value = serde_json::from_str(&first).unwrap();
    assert!(v["customer"]["email"].as_str().unwrap().starts_with("pseu_"));
    assert_eq!(v["cc"], "[REDACTED:email]");
    // Without the key the pseudonym policy is refused.
    palisade().args(["mask", "--policy", policy.to_str().unwrap()]).arg(&input).assert().code(2);

    let out = palisade()
        .args(["mask", "--policy", "default", "--text"])
        .write_stdin(concat!(
            "GET / auth Bearer abcdef0123456789abcdef ip=10.0.0.1\n",
            "Authorization: Bearer short\n",
            "retry db.password=hunter2 user=jo\n",
            "connect postgres://app:s3cr3t@db:5432/orders\n"
        ))
        .assert()
        .success();
    assert_eq!(
        String::from_utf8(out.get_output().stdout.clone()).unwrap(),
        concat!(
            "GET / auth Bearer [REDACTED:auth_credential] ip=10.0.0.1\n",
            "Authorization: [REDACTED]\n",
            "retry db.password=[REDACTED] user=jo\n",
            "connect postgres://app:[REDACTED:url_credential]@db:5432/orders\n"
        )
    );
}

/// `n` records, each with a password, as one JSON array.
fn records(n: usize) -> String {
    let items: Vec<String> = (0..n)
        .map(|i| format!(r#"{{"id":{i},"password":"hunter2-{i}","mail":"u{i}@example.com"}}"#))
        .collect();
    format!("[{}]", items.join(",\n"))
}

#[test]
fn large_input_streams_with_the_report_on_stderr_only() {
    let input = records(50_000); // ~3.5 MB
    let out =
        palisade().args(["mask", "--policy", "default", "--report"]).write_stdin(input).assert().success();
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let masked: serde_json::Value = serde_json::from_str(&stdout).expect("stdout holds only the masked JSON");
    assert_eq!(masked.as_array().unwrap().len(), 50_000);
    assert!(!stdout.contains("hunter2") && !stdout.contains("@example.com"));
    let report: serde_json::Value = serde_json::from_slice(&out.get_output().stderr).unwrap();
    assert_eq!(report["masked"].as_array().unwrap().len(), 100_000);
    assert_eq!(report["masked"][99_999]["path"], "$[49999].mail");
}

#[test]
fn malformed_input_after_a_large_prefix_says_discard() {
    let mut input = records(20_000);
    input.truncate(input.len() - 1); // no closing ']'
    let offset = input.len();
    let out = palisade().args(["mask", "--policy", "default"]).write_stdin(input).assert().code(2);
    let stderr = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    assert!(stderr.contains(&format!("byte offset {offset}")), "{stderr}");
    assert!(stderr.contains("incomplete: discard it"), "{stderr}");
    // What reached stdout is a masked prefix, never unmasked data.
    let stdout = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(!stdout.is_empty() && !stdout.contains("hunter2"));
}

#[test]
fn token_limit_and_text_errors_exit_2_with_offsets() {
    let long = format!(r#"{{"a":"{}"}}"#, "x".repeat(5000));
    let out = palisade()
        .args(["mask", "--policy", "default", "--max-token-bytes", "1024"])
        .write_stdin(long)
        .assert()
        .code(2);
    let stderr = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    assert!(stderr.contains("byte offset 5") && stderr.contains("1024"), "{stderr}");
    assert!(out.get_output().stdout.is_empty());

    let out = palisade()
        .args(["mask", "--policy", "default", "--text"])
        .write_stdin(&b"ok\nb\xffd\n"[..])
        .assert()
        .code(2);
    let stderr = String::from_utf8(out.get_output().stderr.clone()).unwrap();
    assert!(stderr.contains("byte offset 4"), "{stderr}");
}

#[test]
fn text_mode_masks_pem_blocks_across_lines() {
    let input = "start\n-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\nend\n";
    let out =
        palisade().args(["mask", "--policy", "default", "--text"]).write_stdin(input).assert().success();
    assert_eq!(
        String::from_utf8(out.get_output().stdout.clone()).unwrap(),
        "start\n[REDACTED:pem_private_key]\nend\n"
    );
}
