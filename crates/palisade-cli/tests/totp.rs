//! `palisade totp enroll|code|verify`: the CLI contract, RFC vectors, and interop with oathtool.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use assert_cmd::Command;
use serde_json::Value;

fn palisade() -> Command {
    Command::cargo_bin("palisade").unwrap()
}

fn base32(bytes: &[u8]) -> String {
    // Independent of the crate under test: RFC 4648 by hand.
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let (mut out, mut buf, mut bits) = (String::new(), 0u32, 0);
    for &b in bytes {
        buf = (buf << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(A[((buf >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(A[((buf << (5 - bits)) & 31) as usize] as char);
    }
    while out.len() % 8 != 0 {
        out.push('=');
    }
    out
}

fn stdout(out: &assert_cmd::assert::Assert) -> String {
    String::from_utf8(out.get_output().stdout.clone()).unwrap()
}

fn vectors() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/vectors/rfc/rfc6238_totp.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn code_matches_rfc6238_vectors_for_every_algorithm() {
    let v = vectors();
    for t in v["tests"].as_array().unwrap() {
        let mode = t["mode"].as_str().unwrap();
        let seed = base32(v["seeds"][mode]["ascii"].as_str().unwrap().as_bytes());
        let at = t["unixTime"].as_i64().unwrap().to_string();
        let out = palisade()
            .args(["totp", "code", "--at", &at, "--digits", "8", "--algorithm", &mode.to_lowercase()])
            .write_stdin(format!("{seed}\n"))
            .assert()
            .code(0);
        assert_eq!(stdout(&out).trim(), t["totp"].as_str().unwrap(), "{mode} at {at}");
    }
}

#[test]
fn verify_returns_the_step_and_honours_skew_and_last_step() {
    let seed = base32(b"12345678901234567890");
    let run = |extra: &[&str]| {
        let mut args = vec!["totp", "verify", "--digits", "8"];
        args.extend_from_slice(extra);
        palisade().args(&args).write_stdin(seed.clone()).assert()
    };
    // 94287082 is the code of step 1 (t = 30..59).
    let out = run(&["--code", "94287082", "--at", "59"]).code(0);
    assert_eq!(stdout(&out).trim(), "1");
    // One step later: accepted with the default skew of 1, refused with 0.
    run(&["--code", "94287082", "--at", "60"]).code(0);
    run(&["--code", "94287082", "--at", "60", "--skew", "0"]).code(1);
    // Two steps later: refused with skew 1, accepted with skew 2.
    run(&["--code", "94287082", "--at", "90"]).code(1);
    run(&["--code", "94287082", "--at", "90", "--skew", "2"]).code(0);
    // Replay guard.
    run(&["--code", "94287082", "--at", "59", "--last-step", "0"]).code(0);
    let out = run(&["--code", "94287082", "--at", "59", "--last-step", "1", "--json"]).code(1);
    let v: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(v["valid"], false);
    assert!(v["reason"].as_str().unwrap().contains("replayed"));
    let out = run(&["--code", "94287082", "--at", "59", "--json"]).code(0);
    let v: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(
        (v["valid"].as_bool(), v["step"].as_u64(), v["drift"].as_i64()),
        (Some(true), Some(1), Some(0))
    );
    // Wrong code, wrong length, not digits: a verdict (1), not an error.
    for bad in ["94287083", "9428708", "abcdefgh"] {
        run(&["--code", bad, "--at", "59"]).code(1);
    }
}

#[test]
fn secrets_in_the_forms_other_tools_write() {
    let seed = base32(b"12345678901234567890");
    let want = "94287082";
    let forms = [
        seed.clone(),
        seed.trim_end_matches('=').to_owned(),
        seed.to_lowercase(),
        seed.as_bytes().chunks(4).map(|c| std::str::from_utf8(c).unwrap()).collect::<Vec<_>>().join(" "),
        format!("otpauth://totp/ACME:alice?secret={}&issuer=ACME&digits=8", seed.trim_end_matches('=')),
    ];
    for form in forms {
        let out = palisade()
            .args(["totp", "code", "--at", "59", "--digits", "8"])
            .write_stdin(form.clone())
            .assert()
            .code(0);
        assert_eq!(stdout(&out).trim(), want, "{form}");
    }
    // Algorithm names in any case.
    for alg in ["SHA256", "sha-256", "Sha256"] {
        let out = palisade()
            .args(["totp", "code", "--at", "59", "--digits", "8", "--algorithm", alg])
            .write_stdin(base32(b"12345678901234567890123456789012"))
            .assert()
            .code(0);
        assert_eq!(stdout(&out).trim(), "46119246", "{alg}");
    }
    // Raw keys (as in the RFC text) with --secret-encoding.
    let out = palisade()
        .args(["totp", "code", "--at", "59", "--digits", "8", "--secret-encoding", "ascii"])
        .write_stdin("12345678901234567890\n")
        .assert()
        .code(0);
    assert_eq!(stdout(&out).trim(), want);
    let out = palisade()
        .args(["totp", "code", "--at", "59", "--digits", "8", "--secret-encoding", "hex"])
        .write_stdin("3132333435363738393031323334353637383930")
        .assert()
        .code(0);
    assert_eq!(stdout(&out).trim(), want);
    // From a file.
    let dir = std::env::temp_dir().join(format!("palisade-totp-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("secret.txt");
    std::fs::write(&file, format!("{seed}\n")).unwrap();
    let out = palisade()
        .args(["totp", "code", "--at", "59", "--digits", "8", "--secret-file"])
        .arg(&file)
        .assert()
        .code(0);
    assert_eq!(stdout(&out).trim(), want);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn usage_errors_exit_2_and_never_echo_the_secret() {
    palisade().args(["totp", "code", "--at", "59"]).write_stdin("").assert().code(2);
    let out = palisade().args(["totp", "code"]).write_stdin("SECRETW1TH1SECRET").assert().code(2);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(!err.contains("SECRETW1TH1SECRET"), "{err}");
    palisade().args(["totp", "code", "--digits", "9"]).write_stdin("JBSWY3DPEHPK3PXP").assert().code(2);
    palisade().args(["totp", "code", "--algorithm", "md5"]).write_stdin("JBSWY3DPEHPK3PXP").assert().code(2);
    palisade().args(["totp", "code", "--at", "-5"]).write_stdin("JBSWY3DPEHPK3PXP").assert().code(2);
    palisade().args(["totp", "verify"]).write_stdin("JBSWY3DPEHPK3PXP").assert().code(2);
    palisade().args(["totp", "enroll", "--issuer", "a:b", "--account", "x"]).assert().code(2);
    palisade().args(["totp", "enroll", "--issuer", "a"]).assert().code(2);
    // No flag takes a secret on the command line.
    palisade().args(["totp", "code", "--secret", "JBSWY3DPEHPK3PXP"]).assert().code(2);
}

#[test]
fn enroll_prints_secret_and_uri_and_writes_qr_files() {
    let dir = std::env::temp_dir().join(format!("palisade-totp-enroll-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (png, svg) = (dir.join("qr.png"), dir.join("qr.svg"));
    let out = palisade()
        .args(["totp", "enroll", "--issuer", "Acme Integrations", "--account", "alice@acme.example", "--png"])
        .arg(&png)
        .arg("--svg")
        .arg(&svg)
        .assert()
        .code(0);
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    let secret = lines[0];
    assert_eq!(secret.len(), 32, "160 bits in base32");
    assert!(secret.chars().all(|c| c.is_ascii_uppercase() || ('2'..='7').contains(&c)));
    assert_eq!(
        lines[1],
        format!(
            "otpauth://totp/Acme%20Integrations:alice%40acme.example?secret={secret}&issuer=Acme%20Integrations&algorithm=SHA1&digits=6&period=30"
        )
    );
    let png_bytes = std::fs::read(&png).unwrap();
    assert!(png_bytes.starts_with(b"\x89PNG\r\n\x1a\n"));
    assert!(std::fs::read_to_string(&svg).unwrap().contains("<svg"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&png).unwrap().permissions().mode() & 0o777, 0o600);
    }
    // The printed secret works with `code` and `verify`.
    let code =
        stdout(&palisade().args(["totp", "code", "--at", "1000"]).write_stdin(secret).assert().code(0));
    palisade()
        .args(["totp", "verify", "--code", code.trim(), "--at", "1000"])
        .write_stdin(lines[1])
        .assert()
        .code(0);
    // JSON, and two enrollments never share a secret.
    let out = palisade()
        .args(["totp", "enroll", "--issuer", "Acme", "--account", "bob", "--json"])
        .assert()
        .code(0);
    let v: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_ne!(v["secret"].as_str().unwrap(), secret);
    assert!(v["uri"].as_str().unwrap().contains(v["secret"].as_str().unwrap()));
    assert_eq!(
        (v["algorithm"].as_str(), v["digits"].as_u64(), v["period"].as_u64()),
        (Some("SHA1"), Some(6), Some(30))
    );
    assert_eq!(v["warnings"].as_array().unwrap().len(), 0);
    let out = palisade()
        .args(["totp", "enroll", "--issuer", "Acme", "--account", "bob", "--json", "--digits", "8"])
        .assert()
        .code(0);
    let v: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(v["warnings"].as_array().unwrap().len(), 1);
    std::fs::remove_dir_all(&dir).ok();
}

/// Interop with OATH Toolkit (`oathtool`, listed in scripts/packages.d/totp.txt).
#[test]
fn agrees_with_oathtool() {
    if std::process::Command::new("oathtool").arg("--version").output().is_err() {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "oathtool is missing under CI");
        eprintln!("note: oathtool not installed; skipping the interop test");
        return;
    }
    let secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
    for (alg, digits, period, at) in
        [("sha1", "6", "30", 1_234_567_890), ("sha256", "8", "60", 2_000_000_000), ("sha512", "8", "45", 59)]
    {
        let oath = std::process::Command::new("oathtool")
            .args([
                format!("--totp={alg}"),
                format!("--digits={digits}"),
                format!("--time-step-size={period}s"),
            ])
            .args(["-b", secret, "-N", &format!("@{at}")])
            .output()
            .unwrap();
        assert!(oath.status.success(), "{}", String::from_utf8_lossy(&oath.stderr));
        let want = String::from_utf8(oath.stdout).unwrap();
        let ours = palisade()
            .args([
                "totp",
                "code",
                "--at",
                &at.to_string(),
                "--algorithm",
                alg,
                "--digits",
                digits,
                "--period",
                period,
            ])
            .write_stdin(secret)
            .assert()
            .code(0);
        assert_eq!(stdout(&ours).trim(), want.trim(), "{alg}/{digits}/{period} at {at}");
    }
}
