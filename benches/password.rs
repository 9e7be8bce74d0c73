//! Argon2id hash and verify time, palisade (RustCrypto `argon2`) against the C reference
//! implementation through argon2-cffi, at OWASP's default and RFC 9106's second recommended
//! parameters; plus the cost of a policy check.
//!
//! The peer runs in a persistent Python process (`PALISADE_BENCH_PYTHON`, default `python3`,
//! with `argon2-cffi` installed: `pip install argon2-cffi`); each iteration sends one request
//! over a pipe, which adds tens of microseconds to a hash of tens of milliseconds. Without
//! argon2-cffi the peer is skipped with a note.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use palisade::core::SecretString;
use palisade::password::{Context, HashParams, Hasher, Policy};

const PEER: &str = r#"
import sys
from argon2 import PasswordHasher, low_level
pw = b"correct horse battery staple"
print("ready", flush=True)
for line in sys.stdin:
    op, m, t, p = line.split()
    m, t, p = int(m), int(t), int(p)
    ph = PasswordHasher(time_cost=t, memory_cost=m, parallelism=p, hash_len=32, salt_len=16)
    if op == "hash":
        ph.hash(pw)
    else:
        ph.verify(op, pw)
    print("ok", flush=True)
"#;

struct Peer {
    _child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Peer {
    fn start() -> Option<Peer> {
        let python = std::env::var("PALISADE_BENCH_PYTHON").unwrap_or_else(|_| "python3".to_owned());
        let mut child = Command::new(python)
            .args(["-c", PEER])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let stdin = child.stdin.take()?;
        let mut stdout = BufReader::new(child.stdout.take()?);
        let mut line = String::new();
        stdout.read_line(&mut line).ok()?;
        if line.trim() != "ready" {
            eprintln!("argon2-cffi peer unavailable (pip install argon2-cffi); measuring palisade only");
            return None;
        }
        Some(Peer { _child: child, stdin, stdout })
    }

    fn call(&mut self, op: &str, p: &HashParams) {
        writeln!(self.stdin, "{op} {} {} {}", p.memory_kib, p.iterations, p.parallelism).unwrap();
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        assert_eq!(line.trim(), "ok", "peer failed");
    }
}

fn argon2id(c: &mut Criterion) {
    let mut peer = Peer::start();
    let pw = SecretString::from("correct horse battery staple");
    for (name, params) in
        [("owasp_m19456_t2_p1", HashParams::OWASP), ("rfc9106_m65536_t3_p4", HashParams::RFC9106_SECOND)]
    {
        let hasher = Hasher::new(params).unwrap();
        let stored = hasher.hash(&pw).unwrap();
        let mut g = c.benchmark_group(format!("argon2id/{name}"));
        g.sample_size(20).measurement_time(Duration::from_secs(8)).warm_up_time(Duration::from_secs(1));
        g.bench_function(BenchmarkId::new("hash", "palisade"), |b| b.iter(|| hasher.hash(&pw).unwrap()));
        g.bench_function(BenchmarkId::new("verify", "palisade"), |b| {
            b.iter(|| assert!(hasher.verify(&pw, &stored).unwrap().matched))
        });
        if let Some(peer) = peer.as_mut() {
            g.bench_function(BenchmarkId::new("hash", "argon2-cffi"), |b| {
                b.iter(|| peer.call("hash", &params))
            });
            g.bench_function(BenchmarkId::new("verify", "argon2-cffi"), |b| {
                b.iter(|| peer.call(&stored, &params))
            });
        }
        g.finish();
    }
}

fn policy(c: &mut Criterion) {
    let policy = Policy::nist_800_63b();
    let ctx = Context::new().username("alice").email("alice@acme.example").word("Acme");
    let mut g = c.benchmark_group("password_policy");
    g.bench_function("validate_nist_passphrase", |b| {
        let pw = SecretString::from("Tangerine lighthouse quartz 1987");
        b.iter(|| policy.validate(&pw, &ctx))
    });
    g.bench_function("validate_nist_1MB_input", |b| {
        let pw = SecretString::new("a".repeat(1 << 20));
        b.iter(|| policy.validate(&pw, &ctx))
    });
    g.finish();
}

criterion_group!(benches, argon2id, policy);
criterion_main!(benches);
