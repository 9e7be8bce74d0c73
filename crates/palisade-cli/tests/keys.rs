//! The `palisade keys` contract: init, tenant lifecycle, encrypt/decrypt, status, exit codes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests may

use assert_cmd::Command;

fn palisade() -> Command {
    Command::cargo_bin("palisade").unwrap()
}

fn keys(dir: &std::path::Path, args: &[&str]) -> Command {
    let mut c = palisade();
    c.arg("keys");
    c.args(args);
    c.arg("--dir").arg(dir);
    c
}

fn ctx<'a>(tenant: &'a str, record: &'a str) -> [&'a str; 6] {
    ["--tenant", tenant, "--purpose", "job-history", "--record", record]
}

fn encrypt(dir: &std::path::Path, tenant: &str, record: &str, double: bool, plain: &[u8]) -> Vec<u8> {
    let mut c = keys(dir, &["encrypt"]);
    c.args(ctx(tenant, record));
    if double {
        c.arg("--double");
    }
    c.write_stdin(plain).assert().code(0).get_output().stdout.clone()
}

fn decrypt(dir: &std::path::Path, tenant: &str, record: &str, sealed: &[u8]) -> (i32, Vec<u8>, String) {
    let out = keys(dir, &["decrypt"]).args(ctx(tenant, record)).write_stdin(sealed).output().unwrap();
    (out.status.code().unwrap(), out.stdout, String::from_utf8_lossy(&out.stderr).into_owned())
}

fn init() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    keys(tmp.path(), &["init"]).assert().code(0);
    tmp
}

#[test]
fn encrypt_decrypt_single_and_double() {
    let tmp = init();
    let dir = tmp.path();
    keys(dir, &["tenant", "create", "--tenant", "acme"]).assert().code(0);
    for double in [false, true] {
        let plain = b"job 42: step 3 mapped 17 records".to_vec();
        let sealed = encrypt(dir, "acme", "job-42", double, &plain);
        assert_eq!(&sealed[..4], b"PLS1");
        assert!(!sealed.windows(6).any(|w| w == b"mapped"));
        let (code, out, _) = decrypt(dir, "acme", "job-42", &sealed);
        assert_eq!(code, 0);
        assert_eq!(out, plain);
    }
    // Empty input round-trips too.
    let sealed = encrypt(dir, "acme", "empty", false, b"");
    assert_eq!(decrypt(dir, "acme", "empty", &sealed).1, b"");
}

#[test]
fn wrong_context_tamper_and_destroy_exit_1() {
    let tmp = init();
    let dir = tmp.path();
    keys(dir, &["tenant", "create", "--tenant", "acme"]).assert().code(0);
    keys(dir, &["tenant", "create", "--tenant", "globex"]).assert().code(0);
    let sealed = encrypt(dir, "acme", "job-1", true, b"secret history");

    let (code, out, err) = decrypt(dir, "acme", "job-2", &sealed);
    assert_eq!(code, 1, "{err}");
    assert!(out.is_empty());
    assert!(err.contains("does not open"), "{err}");
    assert_eq!(decrypt(dir, "globex", "job-1", &sealed).0, 1);
    assert_eq!(decrypt(dir, "nobody", "job-1", &sealed).0, 1);
    let mut wrong_purpose = keys(dir, &["decrypt"]);
    wrong_purpose.args(["--tenant", "acme", "--purpose", "other", "--record", "job-1"]);
    wrong_purpose.write_stdin(sealed.clone()).assert().code(1);

    let mut tampered = sealed.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    assert_eq!(decrypt(dir, "acme", "job-1", &tampered).0, 1);
    assert_eq!(decrypt(dir, "acme", "job-1", &sealed[..sealed.len() - 1]).0, 1);
    assert_eq!(decrypt(dir, "acme", "job-1", b"not a ciphertext").0, 1);

    keys(dir, &["tenant", "destroy", "--tenant", "acme"]).assert().code(0);
    let (code, out, err) = decrypt(dir, "acme", "job-1", &sealed);
    assert_eq!(code, 1);
    assert!(out.is_empty());
    assert!(err.contains("destroyed"), "{err}");
}

#[test]
fn rotate_disable_enable_and_status() {
    let tmp = init();
    let dir = tmp.path();
    keys(dir, &["tenant", "create", "--tenant", "acme"]).assert().code(0);
    let old = encrypt(dir, "acme", "r", false, b"v1 data");
    let out = keys(dir, &["tenant", "rotate", "--tenant", "acme", "--json"]).assert().code(0);
    let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(v["version"], 2);
    let new = encrypt(dir, "acme", "r", false, b"v2 data");
    assert_eq!(decrypt(dir, "acme", "r", &old).1, b"v1 data");
    assert_eq!(decrypt(dir, "acme", "r", &new).1, b"v2 data");

    keys(dir, &["tenant", "disable", "--tenant", "acme"]).assert().code(0);
    let (code, _, err) = decrypt(dir, "acme", "r", &new);
    assert_eq!(code, 1);
    assert!(err.contains("disabled"), "{err}");
    keys(dir, &["tenant", "enable", "--tenant", "acme"]).assert().code(0);
    assert_eq!(decrypt(dir, "acme", "r", &new).0, 0);

    let out = keys(dir, &["status", "--json"]).assert().code(0);
    let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let rings = v["keyrings"].as_array().unwrap();
    assert_eq!(rings.len(), 2);
    assert_eq!(rings[0]["owner"], "global");
    assert_eq!(rings[1]["owner"], "tenant:acme");
    assert_eq!(rings[1]["primary"], 2);
    assert_eq!(rings[1]["versions"].as_array().unwrap().len(), 2);
    let human = keys(dir, &["status"]).assert().code(0);
    assert!(String::from_utf8_lossy(&human.get_output().stdout).contains("tenant:acme"));
    let raw = std::fs::read_to_string(dir.join("keyrings/tenant-acme.json")).unwrap();
    assert!(raw.contains("\"wrapped\""));
}

#[test]
fn usage_errors_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // Not initialised.
    keys(dir, &["status"]).assert().code(2);
    keys(dir, &["init"]).assert().code(0);
    // Twice.
    keys(dir, &["init"]).assert().code(2);
    // Unknown tenant on encrypt, bad tenant id, duplicate create.
    keys(dir, &["encrypt"]).args(ctx("acme", "r")).write_stdin("x").assert().code(2);
    keys(dir, &["tenant", "create", "--tenant", "bad id"]).assert().code(2);
    keys(dir, &["tenant", "create", "--tenant", "acme"]).assert().code(0);
    keys(dir, &["tenant", "create", "--tenant", "acme"]).assert().code(2);
    palisade().args(["keys", "encrypt", "--tenant", "acme"]).assert().code(2);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.join("root.key"), std::fs::Permissions::from_mode(0o644)).unwrap();
        let out = keys(dir, &["status"]).assert().code(2);
        assert!(String::from_utf8_lossy(&out.get_output().stderr).contains("chmod 600"));
    }
}
