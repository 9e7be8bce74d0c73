//! Hashes made by other implementations verify here, and hashes made here have the shape
//! those implementations accept. The vectors were produced with argon2-cffi 25.1.0 (which wraps
//! the reference C implementation), passlib 1.7.4 and pyca/bcrypt 5.0.0.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use palisade_core::SecretString;
use palisade_password::{HashParams, Hasher, Scheme, Upgrade};

const PW: &str = "correct horse battery staple";

fn hasher() -> Hasher {
    Hasher::new(HashParams { memory_kib: 64, iterations: 1, parallelism: 1, ..HashParams::OWASP }).unwrap()
}

fn check(stored: &str, scheme: Scheme, rehash: bool) {
    let h = hasher();
    let v = h.verify(&SecretString::from(PW), stored).unwrap();
    assert!(v.matched, "{stored}");
    assert_eq!(v.scheme, scheme, "{stored}");
    assert_eq!(v.needs_rehash, rehash, "{stored}");
    assert!(
        !h.verify(&SecretString::from("correct horse battery stapl"), stored).unwrap().matched,
        "{stored}"
    );
    assert!(!h.verify(&SecretString::from(""), stored).unwrap().matched, "{stored}");
}

#[test]
fn argon2_cffi_all_variants() {
    // low_level.hash_secret(pw, b"somesaltsomesalt", time_cost=2, memory_cost=64, parallelism=2, hash_len=32)
    check(
        "$argon2id$v=19$m=64,t=2,p=2$c29tZXNhbHRzb21lc2FsdA$bXdeq3skmiiNJHtjgynxq2+Nfhd02Ek+Vfo/7nqYyiE",
        Scheme::Argon2id,
        false,
    );
    check(
        "$argon2i$v=19$m=64,t=2,p=2$c29tZXNhbHRzb21lc2FsdA$TEqvdVBqY6G1IaC/SDqpXxDrr1BMbbGBdeRAalBZnHA",
        Scheme::Argon2i,
        true,
    );
    check(
        "$argon2d$v=19$m=64,t=2,p=2$c29tZXNhbHRzb21lc2FsdA$Q9lE+pm0At1HNwbaUTiUTe2xAzTutXw3RLShA5QJZBQ",
        Scheme::Argon2d,
        true,
    );
    // PasswordHasher(memory_cost=256, time_cost=1, parallelism=1).hash(pw): random salt.
    check(
        "$argon2id$v=19$m=256,t=1,p=1$hxwjzDVPWaS5hx0eVasLMQ$GyGK2fxTo1kUizKBnMN9ewDTtU2MXK/UbrXMk4/P8dY",
        Scheme::Argon2id,
        false,
    );
    // Version 0x10 (v=16): verifies, and asks for a rehash.
    check(
        "$argon2i$v=16$m=64,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$dPozAdedAnE7mVegpEbz56Bn3xHpTJSfwqL1eU47DV8",
        Scheme::Argon2i,
        true,
    );
}

#[test]
fn argon2_cffi_unicode_password_unnormalized_bytes() {
    // argon2-cffi hashed the UTF-8 bytes of "pässwörd✓" as typed (NFC, already NFKC).
    let stored =
        "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$/0PqP7u2LqpL+tXG/fC0b+GKkMU6uaTIaWpZuCx6JeQ";
    let h = hasher();
    assert!(h.verify(&SecretString::from("pässwörd✓"), stored).unwrap().matched);
    // The decomposed spelling normalizes to the same password.
    assert!(h.verify(&SecretString::from("pa\u{308}sswo\u{308}rd✓"), stored).unwrap().matched);
    assert!(!h.verify(&SecretString::from("passwörd✓"), stored).unwrap().matched);
}

#[test]
fn passlib_argon2() {
    check(
        "$argon2id$v=19$m=128,t=1,p=1$K0XIec/5/z/nnBMCIOTcGw$KF0nol+bAFB2Yv5w3nvkK8V8dZGeDoMENDwMJJoKj0s",
        Scheme::Argon2id,
        false,
    );
}

#[test]
fn bcrypt_prefixes() {
    check("$2b$04$f.yM3ULeqHFsuSNQavO8Te/JBXGwHcKpJD0l6BlsSCnSDTIIZfH.q", Scheme::Bcrypt, true);
    check("$2a$04$/F1351slDDoyOBwd35wu1Oe3O.RzCXVbdE7ES8hs4/RSwVCgPMIcu", Scheme::Bcrypt, true);
    check("$2y$04$f.yM3ULeqHFsuSNQavO8Te/JBXGwHcKpJD0l6BlsSCnSDTIIZfH.q", Scheme::Bcrypt, true);
}

#[test]
fn bcrypt_truncates_at_72_bytes_like_everyone_else() {
    // pyca/bcrypt hash of 72 × "x": any password sharing those 72 bytes matches.
    let stored = "$2b$04$2RM/cneiEiqnnSt0RIX5lu8xlFzPftiTh8UZWENpgOFvuPWzlKrIy";
    let h = hasher();
    assert!(h.verify(&SecretString::from("x".repeat(100).as_str()), stored).unwrap().matched);
    assert!(h.verify(&SecretString::from("x".repeat(72).as_str()), stored).unwrap().matched);
    assert!(!h.verify(&SecretString::from("x".repeat(71).as_str()), stored).unwrap().matched);
}

#[test]
fn pbkdf2_sha256_forms() {
    // passlib pbkdf2_sha256.using(rounds=1000): modular-crypt form with adapted base64.
    check(
        "$pbkdf2-sha256$1000$yrkX4lyrVQpBiFEqhTDm/A$bwbMqNAA7616lJzjT9bMOzXxIi5NO0pSk7undsGuJBw",
        Scheme::Pbkdf2Sha256,
        true,
    );
    // Same salt and key in the PHC form and in passlib's form ('.' for '+').
    check(
        "$pbkdf2-sha256$i=1000,l=32$+/9zYWx0c2FsdHNhbHQxMg$c2d/QmGL9UJBkrDxo4ynzaRnDfNh+5UzEthoIr/Uvvg",
        Scheme::Pbkdf2Sha256,
        true,
    );
    check(
        "$pbkdf2-sha256$1000$./9zYWx0c2FsdHNhbHQxMg$c2d/QmGL9UJBkrDxo4ynzaRnDfNh.5UzEthoIr/Uvvg",
        Scheme::Pbkdf2Sha256,
        true,
    );
}

#[test]
fn legacy_hashes_upgrade_to_argon2id() {
    let h = hasher();
    for stored in [
        "$2b$04$f.yM3ULeqHFsuSNQavO8Te/JBXGwHcKpJD0l6BlsSCnSDTIIZfH.q",
        "$pbkdf2-sha256$1000$yrkX4lyrVQpBiFEqhTDm/A$bwbMqNAA7616lJzjT9bMOzXxIi5NO0pSk7undsGuJBw",
    ] {
        match h.verify_and_upgrade(&SecretString::from(PW), stored).unwrap() {
            Upgrade::MatchRehashed(new) => {
                assert!(new.starts_with("$argon2id$v=19$m=64,t=1,p=1$"));
                let v = h.verify(&SecretString::from(PW), &new).unwrap();
                assert!(v.matched && !v.needs_rehash);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(h.verify_and_upgrade(&SecretString::from("nope"), stored).unwrap(), Upgrade::Mismatch);
    }
}

#[test]
fn our_hashes_have_the_reference_encoding() {
    let s = Hasher::default().hash(&SecretString::from(PW)).unwrap();
    let parts: Vec<&str> = s.split('$').collect();
    assert_eq!(parts[..4], ["", "argon2id", "v=19", "m=19456,t=2,p=1"]);
    assert_eq!(parts[4].len(), 22); // 16-byte salt, unpadded B64
    assert_eq!(parts[5].len(), 43); // 32-byte tag
    assert!(!s.contains('='.to_string().as_str().repeat(2).as_str()));
}

#[test]
fn reference_argon2_cli_hashes_verify() {
    // Fixed outputs of the reference `argon2` tool (Debian package argon2, 20171227):
    //   echo -n password | argon2 somesalt -id -t 2 -m 10 -p 2 -l 24 -e
    //   echo -n password | argon2 somesalt -d -t 1 -k 64 -p 1 -v 10 -e
    let h = hasher();
    for stored in [
        "$argon2id$v=19$m=1024,t=2,p=2$c29tZXNhbHQ$SXRPdBUYF/q82eTzDqzEkG0+sFSFPpb/",
        "$argon2d$v=16$m=64,t=1,p=1$c29tZXNhbHQ$BDttV45bckoRtgeAmxDKDf21Ruglm1x79meMBV3Xkjs",
    ] {
        assert!(h.verify(&SecretString::from("password"), stored).unwrap().matched, "{stored}");
        assert!(!h.verify(&SecretString::from("passwore"), stored).unwrap().matched, "{stored}");
    }
}

/// Live round trip with the reference tool, when it is installed (scripts/packages.d/password.txt).
#[test]
fn reference_argon2_cli_live_roundtrip() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let spawn = Command::new("argon2")
        .args(["saltsaltsalt", "-id", "-t", "1", "-k", "256", "-p", "2", "-e"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn();
    let mut child = match spawn {
        Ok(c) => c,
        Err(e) => {
            assert!(std::env::var("CI").is_err(), "the argon2 tool is required under CI: {e}");
            eprintln!("skipping: the reference argon2 tool is not installed ({e})");
            return;
        }
    };
    child.stdin.take().unwrap().write_all("pässwörd and spaces".as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let stored = String::from_utf8(out.stdout).unwrap();
    let stored = stored.trim();
    assert!(stored.starts_with("$argon2id$v=19$m=256,t=1,p=2$"), "{stored}");
    let h = hasher();
    assert!(h.verify(&SecretString::from("pässwörd and spaces"), stored).unwrap().matched);
    assert!(!h.verify(&SecretString::from("passwörd and spaces"), stored).unwrap().matched);
}
