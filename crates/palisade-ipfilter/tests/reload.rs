//! Lists are replaced while readers check: every read sees one whole snapshot, old or new.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests may

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use palisade_ipfilter::{EntryConfig, Reason, TenantAllowlists, TenantPolicy};

fn policy(cidrs: &[&str]) -> TenantPolicy {
    TenantPolicy {
        enforce: true,
        entries: cidrs.iter().map(|c| EntryConfig { cidr: (*c).into(), label: Some((*c).into()) }).collect(),
    }
}

#[test]
fn readers_see_whole_snapshots() {
    let lists = Arc::new(TenantAllowlists::default());
    let t = "acme".parse().unwrap();
    // Snapshot A allows 192.0.2.0/24 and 198.51.100.0/24; snapshot B allows neither but 203.0.113.0/24.
    let a = policy(&["192.0.2.0/24", "198.51.100.0/24"]);
    let b = policy(&["203.0.113.0/24"]);
    lists.replace(&t, &a, "192.0.2.1".parse().unwrap(), false).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let (lists, stop, t) = (lists.clone(), stop.clone(), t.clone());
            std::thread::spawn(move || {
                let mut reads = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let x = lists.check(&t, "192.0.2.9".parse().unwrap());
                    let y = lists.check(&t, "203.0.113.9".parse().unwrap());
                    // Each check is one snapshot: allowed iff it matched, denied with the entry count of A (2) or B (1).
                    for d in [x, y] {
                        match d.reason {
                            Reason::Matched { .. } => assert!(d.allowed),
                            Reason::NoMatch { entries } => {
                                assert!(!d.allowed && (entries == 1 || entries == 2))
                            }
                            other => panic!("unexpected {other:?}"),
                        }
                    }
                    reads += 1;
                }
                reads
            })
        })
        .collect();
    for i in 0..2000 {
        let p = if i % 2 == 0 { &b } else { &a };
        lists.replace(&t, p, "203.0.113.1".parse().unwrap(), true).unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    let total: u64 = readers.into_iter().map(|r| r.join().unwrap()).sum();
    assert!(total > 0);
    // The last write (i = 1999, odd) installed A.
    assert!(lists.check(&t, "198.51.100.1".parse().unwrap()).allowed);
    assert!(!lists.check(&t, "203.0.113.9".parse().unwrap()).allowed);
}
