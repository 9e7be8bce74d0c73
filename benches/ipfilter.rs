//! IP allowlist checks per second against 10,000 random IPv4 + IPv6 prefixes: palisade's
//! flattened-interval lookup, a linear scan, and the `ip_network_table` crate, in one group.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, missing_docs)]

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ip_network::IpNetwork;
use ip_network_table::IpNetworkTable;
use palisade::ipfilter::{Allowlist, Entry, IpNet};
use palisade_demos::BenchRng;

fn world() -> (Vec<Entry>, Vec<IpAddr>) {
    let mut rng = BenchRng::new(42);
    let mut entries = Vec::new();
    while entries.len() < 10_000 {
        let text = if entries.len() % 2 == 0 {
            let p = 8 + rng.below(25) as u32; // /8 .. /32
            let a = (rng.next_u64() as u32) & u32::MAX.checked_shl(32 - p).unwrap_or(0);
            format!("{}/{p}", Ipv4Addr::from(a))
        } else {
            let p = 16 + rng.below(113) as u32; // /16 .. /128
            let a = ((u128::from(rng.next_u64()) << 64) | u128::from(rng.next_u64()))
                & u128::MAX.checked_shl(128 - p).unwrap_or(0);
            format!("{}/{p}", Ipv6Addr::from(a))
        };
        if let Ok(net) = IpNet::parse(&text) {
            entries.push(Entry { net, label: None });
        }
    }
    // Queries: half inside some entry, half random.
    let mut queries = Vec::new();
    for i in 0..4096 {
        let e = &entries[rng.below(entries.len() as u64) as usize];
        let q = if i % 2 == 0 {
            e.net.addr()
        } else if e.net.addr().is_ipv4() {
            IpAddr::V4(Ipv4Addr::from(rng.next_u64() as u32))
        } else {
            IpAddr::V6(Ipv6Addr::from((u128::from(rng.next_u64()) << 64) | u128::from(rng.next_u64())))
        };
        queries.push(q);
    }
    (entries, queries)
}

fn bench(c: &mut Criterion) {
    let (entries, queries) = world();
    let list = Allowlist::new(entries.clone());
    let mut table = IpNetworkTable::new();
    for (i, e) in entries.iter().enumerate() {
        table.insert(IpNetwork::new(e.net.addr(), e.net.prefix()).unwrap(), i);
    }
    // All three agree on whether each query is allowed.
    for q in &queries {
        let linear = entries.iter().any(|e| e.net.contains(*q));
        assert_eq!(list.contains(*q), linear);
        assert_eq!(table.longest_match(*q).is_some(), linear);
    }

    let mut g = c.benchmark_group("ipfilter_check_10k_prefixes");
    g.throughput(Throughput::Elements(queries.len() as u64));
    g.bench_function("palisade", |b| {
        b.iter(|| queries.iter().filter(|q| list.contains(black_box(**q))).count())
    });
    g.bench_function("ip_network_table", |b| {
        b.iter(|| queries.iter().filter(|q| table.longest_match(black_box(**q)).is_some()).count())
    });
    g.sample_size(10);
    g.bench_function("linear_scan", |b| {
        b.iter(|| queries.iter().filter(|q| entries.iter().any(|e| e.net.contains(black_box(**q)))).count())
    });
    g.finish();

    c.bench_function("ipfilter_compile_10k_prefixes", |b| {
        b.iter(|| Allowlist::new(black_box(entries.clone())))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
