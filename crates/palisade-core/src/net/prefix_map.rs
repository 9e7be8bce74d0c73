//! [`PrefixMap`]: networks with values, compiled for most-specific-match lookups.
//!
//! The networks (CIDR ranges nest or are disjoint) are flattened once into sorted, disjoint
//! intervals, each pointing at the most specific network that covers it. A lookup indexes a bucket
//! table by the address's top bits (about two buckets per interval, at most 2^16 per family) and
//! binary-searches only the interval starts in that bucket. The interval count is at most twice
//! the network count, so a lookup costs O(log n), bounded by O(address bits) as a prefix trie's,
//! with two contiguous arrays instead of pointer chasing.

use std::net::IpAddr;

use super::{IpNet, canonical};

/// Networks with values; [`PrefixMap::lookup`] returns the most specific network containing an
/// address (for identical networks, the first given).
///
/// ```
/// use palisade_core::net::{IpNet, PrefixMap};
///
/// let map = PrefixMap::new(vec![
///     (IpNet::parse("10.0.0.0/8")?, "corp"),
///     (IpNet::parse("10.1.0.0/16")?, "lab"),
/// ]);
/// assert_eq!(map.lookup("10.1.2.3".parse()?).map(|(_, v)| *v), Some("lab"));
/// assert_eq!(map.lookup("::ffff:10.9.0.1".parse()?).map(|(_, v)| *v), Some("corp"));
/// assert!(map.lookup("192.0.2.1".parse()?).is_none());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct PrefixMap<V> {
    items: Vec<(IpNet, V)>,
    v4: Intervals<u32>,
    v6: Intervals<u128>,
}

impl<V> Default for PrefixMap<V> {
    fn default() -> Self {
        Self { items: Vec::new(), v4: Intervals::default(), v6: Intervals::default() }
    }
}

impl<V> PrefixMap<V> {
    /// Compiles `items`.
    pub fn new(items: Vec<(IpNet, V)>) -> Self {
        let (v4, v6) = compile(items.iter().map(|(n, _)| n));
        Self { items, v4, v6 }
    }

    /// The most specific network containing `ip` (canonicalized first) and its value.
    pub fn lookup(&self, ip: IpAddr) -> Option<(&IpNet, &V)> {
        let idx = match canonical(ip) {
            IpAddr::V4(a) => self.v4.find(u32::from(a)),
            IpAddr::V6(a) => self.v6.find(u128::from(a)),
        }?;
        self.items.get(usize::try_from(idx).ok()?).map(|(n, v)| (n, v))
    }

    /// Whether some network contains `ip`.
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.lookup(ip).is_some()
    }

    /// The networks and values, as given.
    pub fn items(&self) -> &[(IpNet, V)] {
        &self.items
    }

    /// Number of networks.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

/// An address family's integer form, split into 2^bits buckets by its top bits.
trait Key: Copy + Ord {
    fn top(self, bits: u32) -> usize;
    fn bucket_start(b: usize, bits: u32) -> Self;
}

impl Key for u32 {
    fn top(self, bits: u32) -> usize {
        self.checked_shr(Self::BITS - bits).unwrap_or(0) as usize
    }
    fn bucket_start(b: usize, bits: u32) -> Self {
        u32::try_from(b).unwrap_or(0).checked_shl(Self::BITS - bits).unwrap_or(0)
    }
}

impl Key for u128 {
    fn top(self, bits: u32) -> usize {
        self.checked_shr(Self::BITS - bits).unwrap_or(0) as usize
    }
    fn bucket_start(b: usize, bits: u32) -> Self {
        (b as u128).checked_shl(Self::BITS - bits).unwrap_or(0)
    }
}

/// Sorted disjoint intervals of one address family: `starts[i]..=ends[i]` maps to `entry[i]`.
/// `index[b]` is the first interval starting in bucket `b` or later (`index[2^bits]` = len), so a
/// lookup binary-searches only the intervals that start in the address's own bucket. The table
/// has about twice as many buckets as intervals (at most 2^16), so it costs ≤ 8 bytes per interval.
#[derive(Debug, Clone, Default)]
struct Intervals<T> {
    starts: Vec<T>,
    ends: Vec<T>,
    entry: Vec<u32>,
    index: Vec<u32>,
    bits: u32,
}

impl<T: Key> Intervals<T> {
    fn build_index(&mut self) {
        let n = self.starts.len();
        // Smallest power of two ≥ 2n, capped at 2^16 buckets.
        self.bits = (usize::BITS - (2 * n).saturating_sub(1).leading_zeros()).min(16);
        let buckets = 1usize << self.bits;
        let mut index = Vec::with_capacity(buckets + 1);
        let mut i = 0usize;
        for b in 0..buckets {
            let first = T::bucket_start(b, self.bits);
            while self.starts.get(i).is_some_and(|&s| s < first) {
                i += 1;
            }
            index.push(u32::try_from(i).unwrap_or(u32::MAX));
        }
        index.push(u32::try_from(n).unwrap_or(u32::MAX));
        self.index = index;
    }

    fn find(&self, x: T) -> Option<u32> {
        let b = x.top(self.bits);
        let (lo, hi) = match (self.index.get(b), self.index.get(b + 1)) {
            (Some(&lo), Some(&hi)) => (lo as usize, hi as usize),
            _ => return None,
        };
        let in_bucket = self.starts.get(lo..hi)?;
        // The last interval starting at or before x: in this bucket, or the one before it.
        let i = (lo + in_bucket.partition_point(|&s| s <= x)).checked_sub(1)?;
        match (self.ends.get(i), self.entry.get(i)) {
            (Some(&end), Some(&e)) if x <= end => Some(e),
            _ => None,
        }
    }
}

/// Flattens nested/disjoint ranges into disjoint intervals labelled with the innermost entry.
fn compile<'a>(nets: impl Iterator<Item = &'a IpNet>) -> (Intervals<u32>, Intervals<u128>) {
    let mut v4 = Vec::new();
    let mut v6 = Vec::new();
    for (i, net) in nets.enumerate() {
        let Ok(i) = u32::try_from(i) else { break };
        let (s, end) = net.range_bounds();
        if net.addr().is_ipv4() { v4.push((s, end, i)) } else { v6.push((s, end, i)) }
    }
    let v4 = flatten(v4);
    let mut v6 = flatten(v6);
    let mut v4 = Intervals {
        starts: v4.starts.iter().map(|&s| u32::try_from(s).unwrap_or(u32::MAX)).collect(),
        ends: v4.ends.iter().map(|&s| u32::try_from(s).unwrap_or(u32::MAX)).collect(),
        entry: v4.entry,
        index: Vec::new(),
        bits: 0,
    };
    v4.build_index();
    v6.build_index();
    (v4, v6)
}

fn flatten(mut ranges: Vec<(u128, u128, u32)>) -> Intervals<u128> {
    // Outer ranges before inner ones; for identical ranges the first entry wins.
    ranges.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)).then(a.2.cmp(&b.2)));
    ranges.dedup_by(|later, earlier| later.0 == earlier.0 && later.1 == earlier.1);

    let mut out: Intervals<u128> = Intervals::default();
    let mut emit = |s: u128, e: u128, idx: u32| {
        if let (Some(last_end), Some(last_idx)) = (out.ends.last_mut(), out.entry.last())
            && *last_idx == idx
            && last_end.checked_add(1) == Some(s)
        {
            *last_end = e;
            return;
        }
        out.starts.push(s);
        out.ends.push(e);
        out.entry.push(idx);
    };
    // `cursor` is the first address not yet emitted; None once past the top of the space.
    let mut cursor: Option<u128> = Some(0);
    let mut stack: Vec<(u128, u32)> = Vec::new();
    let close =
        |stack: &mut Vec<(u128, u32)>, cursor: &mut Option<u128>, emit: &mut dyn FnMut(u128, u128, u32)| {
            if let Some((end, idx)) = stack.pop() {
                if let Some(c) = *cursor
                    && c <= end
                {
                    emit(c, end, idx);
                }
                *cursor = end.checked_add(1);
            }
        };
    for (s, e, idx) in ranges {
        while stack.last().is_some_and(|&(end, _)| end < s) {
            close(&mut stack, &mut cursor, &mut emit);
        }
        if let (Some(&(_, outer)), Some(c)) = (stack.last(), cursor)
            && c < s
        {
            emit(c, s - 1, outer);
        }
        cursor = Some(s);
        stack.push((e, idx));
    }
    while !stack.is_empty() {
        close(&mut stack, &mut cursor, &mut emit);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    struct Entry {
        net: IpNet,
    }

    /// The specification: the longest matching prefix, first entry among equals.
    fn linear(entries: &[Entry], a: IpAddr) -> Option<usize> {
        let mut best: Option<(u8, usize)> = None;
        for (i, e) in entries.iter().enumerate() {
            if e.net.contains(a) && best.is_none_or(|(p, _)| e.net.prefix() > p) {
                best = Some((e.net.prefix(), i));
            }
        }
        best.map(|(_, i)| i)
    }

    fn arb_entry() -> impl Strategy<Value = Entry> {
        prop_oneof![
            (any::<u32>(), 0u8..=32).prop_map(|(a, p)| {
                let m = u32::MAX.checked_shl(32 - u32::from(p)).unwrap_or(0);
                IpNet::parse(&format!("{}/{p}", std::net::Ipv4Addr::from(a & m))).unwrap()
            }),
            // A narrow v4 space so that ranges overlap often.
            (0u32..1024, 22u8..=32).prop_map(|(a, p)| {
                let m = u32::MAX.checked_shl(32 - u32::from(p)).unwrap_or(0);
                IpNet::parse(&format!("{}/{p}", std::net::Ipv4Addr::from((0x0a00_0000 | a) & m))).unwrap()
            }),
            (any::<u128>(), 0u8..=128).prop_map(|(a, p)| {
                let m = u128::MAX.checked_shl(128 - u32::from(p)).unwrap_or(0);
                let v6 = std::net::Ipv6Addr::from(a & m);
                IpNet::parse(&format!("{v6}/{p}")).unwrap_or_else(|_| IpNet::parse("2001:db8::/32").unwrap())
            }),
        ]
        .prop_map(|net| Entry { net })
    }

    fn arb_addr() -> impl Strategy<Value = IpAddr> {
        prop_oneof![
            any::<u32>().prop_map(|a| IpAddr::V4(a.into())),
            (0u32..1024).prop_map(|a| IpAddr::V4((0x0a00_0000 | a).into())),
            any::<u128>().prop_map(|a| IpAddr::V6(a.into())),
            any::<u32>().prop_map(|a| IpAddr::V6(std::net::Ipv4Addr::from(a).to_ipv6_mapped())),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn lookup_equals_linear_scan(entries in proptest::collection::vec(arb_entry(), 0..300),
                                     addrs in proptest::collection::vec(arb_addr(), 1..40)) {
            let list = PrefixMap::new(entries.iter().map(|e| (e.net, ())).collect());
            for a in addrs {
                let want = linear(&entries, a).map(|i| &entries[i]);
                prop_assert_eq!(list.lookup(a).map(|(n, _)| *n), want.map(|e| e.net), "address {}", a);
            }
            // Every entry's own bounds match it (or a more specific entry).
            for e in &entries {
                let (s, end) = e.net.range_bounds();
                for x in [s, end] {
                    let a = if e.net.addr().is_ipv4() { IpAddr::V4((x as u32).into()) } else { IpAddr::V6(x.into()) };
                    prop_assert!(list.contains(a));
                }
            }
        }
    }
}
