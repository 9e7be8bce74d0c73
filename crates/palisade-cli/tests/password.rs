//! `palisade password check|hash|verify`: the CLI contract.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use assert_cmd::Command;
use serde_json::Value;

fn palisade() -> Command {
    Command::cargo_bin("palisade").unwrap()
}

fn json(out: &assert_cmd::assert::Assert) -> Value {
    serde_json::from_slice(&out.get_output().stdout).unwrap()
}

fn codes(v: &Value) -> Vec<String> {
    v["violations"].as_array().unwrap().iter().map(|x| x["code"].as_str().unwrap().to_owned()).collect()
}

#[test]
fn check_accepts_a_good_passphrase_under_both_presets() {
    for policy in ["nist", "enterprise"] {
        let out = palisade()
            .args(["password", "check", "--policy", policy, "--json"])
            .write_stdin("Violet-Harbor-Engine-42\n")
            .assert()
            .code(0);
        let v = json(&out);
        assert_eq!(v["acceptable"], true);
        assert_eq!(codes(&v), Vec::<String>::new());
    }
}

#[test]
fn check_reports_every_violation_and_never_the_password() {
    let out = palisade()
        .args([
            "password",
            "check",
            "--policy",
            "enterprise",
            "--username",
            "alice",
            "--email",
            "Alice.W@example.com",
            "--json",
        ])
        .write_stdin("alice.w1\n")
        .assert()
        .code(1);
    let v = json(&out);
    assert_eq!(v["acceptable"], false);
    assert_eq!(
        codes(&v),
        ["too_short", "missing_uppercase", "too_weak", "contains_username", "contains_email"]
    );
    assert_eq!(v["violations"][0]["params"]["min"], 12);
    assert_eq!(v["violations"][0]["params"]["actual"], 8);
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(!text.contains("alice.w1"));
    // Human output: one line per violation, exit 1.
    let out =
        palisade().args(["password", "check", "--policy", "nist"]).write_stdin("short").assert().code(1);
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(text.contains("too_short") && text.contains("too_weak"), "{text}");
    assert!(!text.contains("short\n") || text.contains("too_short"));
}

#[test]
fn check_loads_policy_files_and_breached_lists() {
    let dir = std::env::temp_dir().join(format!("palisade-pw-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let toml = dir.join("policy.toml");
    std::fs::write(&toml, "min_length = 8\nmin_strength = 0\nrequired_classes = [\"digit\"]\n").unwrap();
    let jsonp = dir.join("policy.json");
    std::fs::write(&jsonp, r#"{"min_length": 20, "min_strength": null}"#).unwrap();
    let list = dir.join("pwned.txt");
    // SHA-1 of "password1234": 8 matches the HIBP download format.
    std::fs::write(&list, "E6B6AFBD6D76BB5D2041542D7D2E3FAC5BB05593:2413945\n").unwrap();

    palisade()
        .args(["password", "check", "--policy", toml.to_str().unwrap()])
        .write_stdin("abcdefg1\n")
        .assert()
        .code(0);
    let out = palisade()
        .args(["password", "check", "--json", "--policy", toml.to_str().unwrap()])
        .write_stdin("abcdefgh\n")
        .assert()
        .code(1);
    assert_eq!(codes(&json(&out)), ["missing_digit"]);
    let out = palisade()
        .args(["password", "check", "--json", "--policy", jsonp.to_str().unwrap()])
        .write_stdin("abcdefgh\n")
        .assert()
        .code(1);
    assert_eq!(codes(&json(&out)), ["too_short"]);
    let out = palisade()
        .args([
            "password",
            "check",
            "--json",
            "--policy",
            toml.to_str().unwrap(),
            "--breached",
            list.to_str().unwrap(),
        ])
        .write_stdin("password1234\n")
        .assert()
        .code(1);
    let v = json(&out);
    assert_eq!(codes(&v), ["breached"]);
    assert_eq!(v["violations"][0]["params"]["count"], 2_413_945);

    // A bad policy file is a usage error.
    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "min_lenght = 8\n").unwrap();
    palisade()
        .args(["password", "check", "--policy", bad.to_str().unwrap()])
        .write_stdin("x")
        .assert()
        .code(2);
    palisade().args(["password", "check", "--policy", "no-such-preset"]).write_stdin("x").assert().code(2);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn check_megabyte_input_is_a_cheap_verdict() {
    let big = "a".repeat(1 << 20);
    let out = palisade()
        .args(["password", "check", "--policy", "nist", "--json"])
        .write_stdin(big)
        .assert()
        .code(1);
    assert_eq!(codes(&json(&out)), ["too_long"]);
}

#[test]
fn hash_then_verify_roundtrip_with_newline_handling() {
    let out = palisade()
        .args(["password", "hash", "--memory-kib", "64", "--iterations", "1", "--parallelism", "1"])
        .write_stdin("hunter2 with spaces\r\n")
        .assert()
        .code(0);
    let phc = String::from_utf8(out.get_output().stdout.clone()).unwrap().trim_end().to_owned();
    assert!(phc.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{phc}");

    // One trailing "\n" or "\r\n" is stripped; nothing else is.
    for input in ["hunter2 with spaces", "hunter2 with spaces\n", "hunter2 with spaces\r\n"] {
        palisade().args(["password", "verify", "--hash", &phc]).write_stdin(input).assert().code(0);
    }
    for input in ["hunter2 with spaces\n\n", " hunter2 with spaces", "hunter2 with spaces "] {
        palisade().args(["password", "verify", "--hash", &phc]).write_stdin(input).assert().code(1);
    }
    // Weaker than the default OWASP parameters: a rehash is reported.
    let out = palisade()
        .args(["password", "verify", "--json", "--hash", &phc])
        .write_stdin("hunter2 with spaces")
        .assert()
        .code(0);
    let v = json(&out);
    assert_eq!(v["match"], true);
    assert_eq!(v["needs_rehash"], true);
    assert_eq!(v["scheme"], "argon2id");
    let out = palisade()
        .args(["password", "verify", "--json", "--memory-kib", "64", "--iterations", "1", "--hash", &phc])
        .write_stdin("hunter2 with spaces")
        .assert()
        .code(0);
    assert_eq!(json(&out)["needs_rehash"], false);
    let out = palisade()
        .args(["password", "verify", "--json", "--hash", &phc])
        .write_stdin("wrong")
        .assert()
        .code(1);
    assert_eq!(json(&out)["match"], false);
}

#[test]
fn default_hash_uses_owasp_parameters() {
    let out = palisade().args(["password", "hash"]).write_stdin("pw\n").assert().code(0);
    let phc = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
    palisade().args(["password", "verify", "--hash", phc.trim()]).write_stdin("pw\n").assert().code(0);
}

#[test]
fn verify_foreign_hashes() {
    let pw = "correct horse battery staple\n";
    for (hash, scheme) in [
        (
            "$argon2id$v=19$m=64,t=2,p=2$c29tZXNhbHRzb21lc2FsdA$bXdeq3skmiiNJHtjgynxq2+Nfhd02Ek+Vfo/7nqYyiE",
            "argon2id",
        ),
        (
            "$argon2i$v=19$m=64,t=2,p=2$c29tZXNhbHRzb21lc2FsdA$TEqvdVBqY6G1IaC/SDqpXxDrr1BMbbGBdeRAalBZnHA",
            "argon2i",
        ),
        (
            "$argon2d$v=19$m=64,t=2,p=2$c29tZXNhbHRzb21lc2FsdA$Q9lE+pm0At1HNwbaUTiUTe2xAzTutXw3RLShA5QJZBQ",
            "argon2d",
        ),
        ("$2a$04$/F1351slDDoyOBwd35wu1Oe3O.RzCXVbdE7ES8hs4/RSwVCgPMIcu", "bcrypt"),
        ("$2b$04$f.yM3ULeqHFsuSNQavO8Te/JBXGwHcKpJD0l6BlsSCnSDTIIZfH.q", "bcrypt"),
        ("$2y$04$f.yM3ULeqHFsuSNQavO8Te/JBXGwHcKpJD0l6BlsSCnSDTIIZfH.q", "bcrypt"),
        (
            "$pbkdf2-sha256$1000$yrkX4lyrVQpBiFEqhTDm/A$bwbMqNAA7616lJzjT9bMOzXxIi5NO0pSk7undsGuJBw",
            "pbkdf2-sha256",
        ),
        (
            "$pbkdf2-sha256$i=1000,l=32$+/9zYWx0c2FsdHNhbHQxMg$c2d/QmGL9UJBkrDxo4ynzaRnDfNh+5UzEthoIr/Uvvg",
            "pbkdf2-sha256",
        ),
    ] {
        let out = palisade()
            .args(["password", "verify", "--json", "--hash", hash])
            .write_stdin(pw)
            .assert()
            .code(0);
        let v = json(&out);
        assert_eq!(v["scheme"], scheme, "{hash}");
        assert_eq!(v["needs_rehash"], true, "{hash}");
        palisade()
            .args(["password", "verify", "--hash", hash])
            .write_stdin("Correct horse battery staple")
            .assert()
            .code(1);
    }
}

#[test]
fn verify_bad_input_is_a_usage_error() {
    for hash in [
        "",
        "plaintext",
        "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHRzb21lc2FsdA",
        "$5$rounds=1000$abc$def",
        "$2b$04$short",
    ] {
        palisade().args(["password", "verify", "--hash", hash]).write_stdin("pw").assert().code(2);
    }
    palisade()
        .args([
            "password",
            "verify",
            "--hash",
            "$2b$04$f.yM3ULeqHFsuSNQavO8Te/JBXGwHcKpJD0l6BlsSCnSDTIIZfH.q",
        ])
        .write_stdin(vec![0xff, 0xfe])
        .assert()
        .code(2);
    palisade().args(["password", "verify"]).write_stdin("pw").assert().code(2);
}

#[test]
fn pepper_from_a_file() {
    let dir = std::env::temp_dir().join(format!("palisade-pw-pepper-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let key = dir.join("pepper.bin");
    std::fs::write(&key, [7u8; 32]).unwrap();
    let k = key.to_str().unwrap();
    let small = ["--memory-kib", "64", "--iterations", "1"];
    let out = palisade()
        .args(["password", "hash", "--pepper-file", k, "--pepper-id", "k1"])
        .args(small)
        .write_stdin("pw\n")
        .assert()
        .code(0);
    let phc = String::from_utf8(out.get_output().stdout.clone()).unwrap().trim().to_owned();
    assert!(phc.contains(",keyid=azE$"), "{phc}");
    palisade()
        .args(["password", "verify", "--hash", &phc, "--pepper-file", k, "--pepper-id", "k1"])
        .args(small)
        .write_stdin("pw")
        .assert()
        .code(0);
    palisade()
        .args(["password", "verify", "--hash", &phc, "--pepper-file", k, "--pepper-id", "k1"])
        .args(small)
        .write_stdin("px")
        .assert()
        .code(1);
    // Without the pepper the hash cannot be checked: a usage error, not a mismatch.
    palisade().args(["password", "verify", "--hash", &phc]).write_stdin("pw").assert().code(2);
    palisade().args(["password", "hash", "--pepper-file", k]).write_stdin("pw").assert().code(2);
    std::fs::remove_dir_all(&dir).ok();
}
