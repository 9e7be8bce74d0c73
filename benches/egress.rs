//! Egress decisions per second on a 1,000-rule policy (host, wildcard and CIDR rules, with ports),
//! beside the same decisions on the built-in-denies-only default policy.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, missing_docs)]

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use palisade::egress::{DefaultAction, Egress, EgressPolicy, Rule, Target};
use palisade_demos::BenchRng;

fn policy() -> EgressPolicy {
    let mut rng = BenchRng::new(7);
    let mut allow = Vec::new();
    for i in 0..1000 {
        let rule = match i % 3 {
            0 => Rule { host: Some(format!("api{i}.partner{}.example", i % 17)), ..Rule::default() },
            1 => Rule {
                host: Some(format!("*.tenant{i}.example")),
                schemes: vec!["https".into()],
                ..Rule::default()
            },
            _ => {
                let a = (rng.next_u64() as u32) & 0xffff_ff00;
                Rule {
                    cidr: Some(format!("{}/24", Ipv4Addr::from(a))),
                    ports: vec![443, 5432],
                    ..Rule::default()
                }
            }
        };
        allow.push(rule);
    }
    EgressPolicy { default: DefaultAction::Deny, allow, ..EgressPolicy::default() }
}

fn bench(c: &mut Criterion) {
    let big = Egress::new(&policy()).unwrap();
    let default = Egress::new(&EgressPolicy::public_internet()).unwrap();
    let public: Vec<IpAddr> = vec!["93.184.215.14".parse().unwrap(), "2606:4700::1111".parse().unwrap()];
    let urls: Vec<Target> = [
        "https://api300.partner11.example/v1/x",
        "https://a.b.tenant301.example/",
        "https://unknown.example/",
        "http://169.254.169.254/latest/",
        "https://[::ffff:10.0.0.1]/",
        "https://198.51.100.7/",
    ]
    .iter()
    .map(|u| Target::parse(u).unwrap())
    .collect();

    let mut g = c.benchmark_group("egress_decide");
    g.throughput(Throughput::Elements(urls.len() as u64));
    g.bench_function("policy_1000_rules", |b| {
        b.iter(|| urls.iter().filter(|t| big.decide(black_box(t), &public).allowed).count())
    });
    g.bench_function("default_policy", |b| {
        b.iter(|| urls.iter().filter(|t| default.decide(black_box(t), &public).allowed).count())
    });
    g.bench_function("parse_and_decide_1000_rules", |b| {
        b.iter(|| {
            big.decide_url(black_box("https://API300.partner11.example./v1/x"), &public).unwrap().allowed
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
