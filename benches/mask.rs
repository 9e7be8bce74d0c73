//! Masking throughput (MB/s) on a ~1 MB nested JSON document with a realistic policy (10 field
//! rules + card and e-mail detectors): palisade's streaming masker over `Read` -> `Write`, the
//! in-memory wrapper, the same policy on a parsed `serde_json::Value`, and the floor:
//! `serde_json` parse + serialize of the same document.
//!
//! `cargo bench --bench mask -- mask_1mb` runs the group. For instruction counts (repeatable on a
//! loaded machine), run the bench binary once per variant under callgrind with
//! `PALISADE_MASK_BENCH_ONCE=<variant>` (`setup`, `stream_read`, `slice`, `floor`): it builds the
//! document and runs that variant 10 times; subtract `setup`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic, missing_docs)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group};
use palisade::mask::{Masker, Policy, StreamLimits};
use palisade_demos::BenchRng;
use serde_json::{Value, json};

fn document() -> Vec<u8> {
    let mut rng = BenchRng::new(7);
    let mut jobs = Vec::new();
    let mut size = 0;
    let mut i = 0u64;
    while size < 1_000_000 {
        let card = if rng.below(10) == 0 {
            "4111 1111 1111 1111".to_owned()
        } else {
            format!("ref-{}", rng.next_u64())
        };
        let job = json!({
            "id": format!("job_{i:08}"), "recipe": "sync-orders", "status": "succeeded",
            "started_at": "2026-11-29T03:00:00Z", "duration_ms": rng.below(100_000),
            "input": {
                "customer": {"name": format!("Customer {i}"), "email": format!("user{i}@example.com"),
                    "ssn": "123-45-6789", "phone": "+1 415 555 0100",
                    "address": {"street": "1 Market St", "city": "San Francisco", "zip": "94105"}},
                "items": [{"sku": "A-1", "qty": 2, "card": card, "price": 19.99},
                          {"sku": "B-7", "qty": 1, "card": "none", "price": 5.0}],
                "connection": {"host": "api.example.com", "password": "hunter2", "api_key": "k-123"},
                "notes": "Order placed through the web shop; deliver after 5pm. Contact the shop owner for details."
            },
            "output": {"ok": true, "order_id": rng.next_u64(), "token": "abc.def.ghi", "tags": ["a", "b", "c"]}
        });
        let s = job.to_string();
        size += s.len() + 1;
        jobs.push(job);
        i += 1;
    }
    serde_json::to_vec(&json!({"workspace": "acme", "jobs": jobs})).unwrap()
}

fn policy() -> Policy {
    serde_json::from_str(
        r#"{
        "field_names": {"defaults": false},
        "fields": [
            {"path": "jobs[*].input.customer.ssn"},
            {"path": "jobs[*].input.customer.phone", "operator": {"op": "partial", "keep_last": 4}},
            {"path": "jobs[*].input.customer.address.street"},
            {"path": "jobs[*].input.items[*].card", "operator": {"op": "partial", "keep_last": 4}},
            {"path": "**.password"},
            {"path": "**.api_key"},
            {"path": "**.token"},
            {"path": "jobs[*].input.connection.secret"},
            {"path": "jobs[*].output.session", "operator": {"op": "remove"}},
            {"path": "jobs[*].input.notes", "operator": {"op": "truncate", "max_chars": 16}}
        ],
        "detectors": [{"kind": "card"}, {"kind": "email"}]
    }"#,
    )
    .unwrap()
}

fn bench(c: &mut Criterion) {
    let doc = document();
    let masker = Masker::new(policy(), None).unwrap();
    let mut g = c.benchmark_group("mask_1mb");
    g.throughput(Throughput::Bytes(doc.len() as u64));
    g.sample_size(20);
    g.bench_function("palisade_streaming_read", |b| {
        let mut out = Vec::with_capacity(doc.len());
        b.iter(|| stream_read(&masker, &doc, &mut out))
    });
    g.bench_function("palisade_streaming_slice", |b| {
        let mut out = Vec::with_capacity(doc.len());
        b.iter(|| slice(&masker, &doc, &mut out))
    });
    g.bench_function("palisade_value_parse_mask_serialize", |b| {
        b.iter(|| {
            let v: Value = serde_json::from_slice(black_box(&doc)).unwrap();
            let (m, _) = masker.mask_value(v);
            black_box(serde_json::to_vec(m.as_inner()).unwrap().len())
        })
    });
    g.bench_function("serde_json_parse_serialize_floor", |b| b.iter(|| floor(&doc)));
    g.finish();
}

/// The streaming path: the document read through `Read` (never as one slice), written through
/// `Write`, with the default limits.
fn stream_read(masker: &Masker, doc: &[u8], out: &mut Vec<u8>) -> usize {
    out.clear();
    let input = std::io::Cursor::new(black_box(doc));
    masker.mask_json_stream(input, &mut *out, &StreamLimits::default(), |e| drop(black_box(e))).unwrap();
    black_box(out.len())
}

fn slice(masker: &Masker, doc: &[u8], out: &mut Vec<u8>) -> usize {
    out.clear();
    masker.mask_json(black_box(doc), out).unwrap();
    black_box(out.len())
}

fn floor(doc: &[u8]) -> usize {
    let v: Value = serde_json::from_slice(black_box(doc)).unwrap();
    black_box(serde_json::to_vec(&v).unwrap().len())
}

criterion_group!(benches, bench);

fn main() {
    if let Ok(variant) = std::env::var("PALISADE_MASK_BENCH_ONCE") {
        let doc = document();
        let masker = Masker::new(policy(), None).unwrap();
        let mut out = Vec::with_capacity(doc.len());
        for _ in 0..10 {
            match variant.as_str() {
                "setup" => {}
                "stream_read" => drop(stream_read(&masker, &doc, &mut out)),
                "slice" => drop(slice(&masker, &doc, &mut out)),
                "floor" => drop(floor(&doc)),
                other => panic!("unknown variant {other}"),
            }
        }
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
