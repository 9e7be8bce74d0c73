//! What loading the RBAC anchor world costs, measured without criterion so that it can run under
//! `valgrind --tool=callgrind` and count bytes with an instrumented global allocator.
//!
//! `cargo bench --bench rbac_footprint` prints, for the world of `benches/support/rbac_world.rs`
//! (100 tenants × 50 users × 20 folders × 200 assets, 3 environments each):
//!
//! * **load from memory**: `Rbac::publish(&catalog)`, from the in-memory `PolicyCatalog` to every
//!   published (tenant, environment) snapshot: validation, compilation, snapshot building and
//!   the atomic swap. The fastest and the median of several runs.
//! * **load from a file**: reading the catalog's JSON file from disk, parsing it and publishing.
//! * **memory**: bytes the published engine holds on the heap (what `publish` leaves allocated,
//!   counted by the `stats_alloc` global allocator: every temporary is freed by then, and the
//!   catalog was allocated before), and the process's resident-set growth over the publish
//!   (`VmRSS` in /proc/self/status), which also counts malloc's own overhead and the pages that
//!   freed temporaries left behind.
//!
//! `cargo bench --bench rbac_footprint -- once` publishes once and exits (for callgrind:
//! `valgrind --tool=callgrind target/release/deps/rbac_footprint-* once`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, missing_docs)]

use std::alloc::System;
use std::hint::black_box;
use std::time::{Duration, Instant};

use palisade::rbac::{PolicyCatalog, Rbac};
use palisade_demos::rbac_world::{TENANTS, world};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

fn timed<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, Duration) {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            let out = f();
            let took = start.elapsed();
            drop(black_box(out));
            took
        })
        .collect();
    times.sort();
    (times[0], times[runs / 2])
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn main() {
    // `cargo bench` passes `--bench`; anything else names a mode.
    let once = std::env::args().skip(1).any(|a| a == "once");
    let catalog = world();
    if once {
        let rbac = Rbac::new();
        rbac.publish(black_box(&catalog)).unwrap();
        black_box(&rbac);
        return;
    }
    let json = catalog.to_json();
    let dir = std::env::temp_dir().join(format!("palisade-rbac-footprint-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("world.json");
    std::fs::write(&file, &json).unwrap();

    // Memory first, on a fresh heap: what publishing leaves allocated is what the engine holds
    // (every temporary of the publish is freed by then; the catalog was allocated before).
    let rss_before = rss_kib();
    let region = Region::new(GLOBAL);
    let rbac = Rbac::new();
    rbac.publish(&catalog).unwrap();
    let stats = region.change();
    let rss_after = rss_kib();
    let held = stats.bytes_allocated as i64 - stats.bytes_deallocated as i64 + stats.bytes_reallocated as i64;
    println!(
        "rbac_footprint: heap held by the published world: {:.2} MiB ({held} bytes in {} live allocations; publish made {} allocations)",
        held as f64 / 1048576.0,
        stats.allocations as i64 - stats.deallocations as i64,
        stats.allocations,
    );
    println!(
        "rbac_footprint: resident-set growth while publishing: {:.2} MiB (VmRSS {} → {} KiB)",
        rss_after.saturating_sub(rss_before) as f64 / 1024.0,
        rss_before,
        rss_after
    );
    drop(rbac);

    let (fast, median) = timed(15, || {
        let rbac = Rbac::new();
        rbac.publish(black_box(&catalog)).unwrap();
        rbac
    });
    println!(
        "rbac_footprint: load from memory (publish {TENANTS} tenants × 3 environments): fastest {}, median {}",
        ms(fast),
        ms(median)
    );
    let (fast, median) = timed(9, || {
        let text = std::fs::read_to_string(&file).unwrap();
        let parsed = PolicyCatalog::from_json(&text).unwrap();
        let rbac = Rbac::new();
        rbac.publish(&parsed).unwrap();
        rbac
    });
    println!(
        "rbac_footprint: load from a JSON file ({} KiB: read + parse + publish): fastest {}, median {}",
        json.len() / 1024,
        ms(fast),
        ms(median)
    );
    let (fast, median) = timed(9, || PolicyCatalog::from_json(black_box(&json)).unwrap());
    println!("rbac_footprint: of which parsing the JSON: fastest {}, median {}", ms(fast), ms(median));
    std::fs::remove_dir_all(&dir).ok();
}
