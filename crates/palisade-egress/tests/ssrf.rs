//! SSRF bypass forms, each denied by the default (public internet) policy; and the property that
//! a URL is allowed only if every resolved address is outside the denied set.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // tests may

use std::net::IpAddr;

use palisade_egress::{Egress, EgressPolicy, PinnedResolver, Reason, Rule};
use proptest::prelude::*;

fn public() -> Egress {
    Egress::new(&EgressPolicy::public_internet()).unwrap()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn bypass_forms_are_denied() {
    let e = public();
    let literal_forms = [
        "http://127.0.0.1/",
        "http://2130706433/",   // decimal
        "http://0x7f000001/",   // hex
        "http://0x7f.1/",       // mixed radix, short form
        "http://0177.0.0.1/",   // octal
        "http://0177.1/",       // octal short
        "http://127.1/",        // short form
        "http://017700000001/", // octal whole
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/", // IPv4-mapped
        "http://[::ffff:7f00:1]/",    // IPv4-mapped, hex
        "http://[::127.0.0.1]/",      // IPv4-compatible
        "http://[2002:7f00:1::1]/",   // 6to4
        "http://[64:ff9b::7f00:1]/",  // NAT64
        "http://[64:ff9b::a9fe:a9fe]/latest/meta-data/",
        "http://169.254.169.254/latest/meta-data/",
        "http://0xa9fea9fe/",
        "http://2852039166/",      // 169.254.169.254 in decimal
        "http://[fd00:ec2::254]/", // AWS IPv6 metadata (ULA)
        "http://[fe80::1]/",
        "http://10.0.0.1/",
        "http://172.16.5.4/",
        "http://192.168.1.1/",
        "http://100.64.0.1/", // CGNAT
        "http://0.0.0.0/",
        "http://[::]/",
        "http://224.0.0.1/",
        "http://255.255.255.255/",
        "http://allowed.example@127.0.0.1/", // userinfo: the host is what counts
        "http://allowed.example:pw@[::1]:8080/",
        "HTTP://127.0.0.1:80/",                // upper case scheme
        "http://127.0.0.1.:80/",               // trailing dot on an IP
        "http://%31%32%37%2e%30%2e%30%2e%31/", // percent-encoded 127.0.0.1
        "http://①②⑦.0.0.1/",                   // IDNA-mapped digits → 127.0.0.1
    ];
    for url in literal_forms {
        let d = e.decide_url(url, &[]).unwrap_or_else(|err| panic!("{url}: {err}"));
        assert!(!d.allowed, "{url} was allowed: {d:?}");
        assert!(matches!(d.reason, Reason::Builtin { .. }), "{url}: {:?}", d.reason);
    }
}

#[tokio::test]
async fn names_that_resolve_inward_are_denied() {
    let e = public();
    let dns = PinnedResolver::default()
        .pin("metadata.attacker.test", vec![ip("169.254.169.254")])
        .pin("rebind.attacker.test", vec![ip("93.184.215.14"), ip("10.1.2.3")])
        .pin("v6.attacker.test", vec![ip("2606:4700::1111"), ip("::ffff:192.168.0.1")])
        .pin("ok.example", vec![ip("93.184.215.14"), ip("2606:4700::1111")]);
    for url in [
        "http://metadata.attacker.test/",
        "https://rebind.attacker.test/",
        "http://v6.attacker.test/",
        "http://REBIND.attacker.test./",
    ] {
        let d = e.check(url, &dns).await.unwrap();
        assert!(!d.allowed, "{url}");
    }
    let d = e.check("https://ok.example/", &dns).await.unwrap();
    assert!(d.allowed, "{d:?}");
    assert_eq!(d.connect_addresses().len(), 2);
    // Unresolvable names give no address: denied.
    let d = e.decide_url("https://nowhere.example/", &[]).unwrap();
    assert_eq!((d.allowed, d.reason), (false, Reason::NoAddresses));
}

#[test]
fn schemes_and_bad_urls() {
    let e = public();
    assert!(matches!(
        e.decide_url("gopher://example.com:70/", &[ip("93.184.215.14")]).unwrap().reason,
        Reason::SchemeNotAllowed { .. }
    ));
    assert!(matches!(e.decide_url("file:///etc/passwd", &[]), Err(palisade_egress::Error::NoHost(_))));
    assert!(e.decide_url("http://", &[]).is_err());
    assert!(e.decide_url("not a url", &[]).is_err());
    assert!(e.decide_url("http://[::1/", &[]).is_err());
}

#[test]
fn allowlist_policy_for_an_agent() {
    let policy = EgressPolicy {
        allow: vec![
            Rule { host: Some("*.example.com".into()), schemes: vec!["https".into()], ..Rule::default() },
            Rule {
                host: Some("db.corp.internal".into()),
                ports: vec![5432],
                label: Some("postgres".into()),
                ..Rule::default()
            },
            Rule { cidr: Some("10.20.0.0/16".into()), ports: vec![443], ..Rule::default() },
        ],
        deny: vec![Rule { host: Some("admin.example.com".into()), ..Rule::default() }],
        allow_builtin: vec!["10.0.0.0/8".into()],
        ..EgressPolicy::default()
    };
    let e = Egress::new(&policy).unwrap();
    let pub_ip = [ip("93.184.215.14")];
    assert!(e.decide_url("https://a.example.com/", &pub_ip).unwrap().allowed);
    assert!(e.decide_url("https://a.b.example.com/", &pub_ip).unwrap().allowed);
    assert!(!e.decide_url("https://example.com/", &pub_ip).unwrap().allowed);
    assert!(!e.decide_url("https://example.com.evil.test/", &pub_ip).unwrap().allowed);
    assert!(!e.decide_url("http://a.example.com/", &pub_ip).unwrap().allowed, "scheme limited to https");
    let d = e.decide_url("https://admin.example.com/", &pub_ip).unwrap();
    assert!(matches!(d.reason, Reason::DenyRule { ref rule, .. } if rule == "deny[0]"), "{d:?}");
    // A private address: opted out for 10/8 only.
    assert!(e.decide_url("postgres://db.corp.internal:5432/x", &[ip("10.20.1.1")]).is_ok());
    assert!(
        !e.decide_url("http://db.corp.internal:5432/", &[ip("192.168.1.1")]).unwrap().allowed,
        "192.168/16 still denied"
    );
    assert!(e.decide_url("http://db.corp.internal:5432/", &[ip("10.20.1.1")]).unwrap().allowed);
    assert!(
        !e.decide_url("http://db.corp.internal:80/", &[ip("10.20.1.1")]).unwrap().allowed,
        "port limited"
    );
    assert!(e.decide_url("https://10.20.3.4/", &[]).unwrap().allowed);
    assert!(!e.decide_url("https://10.21.3.4/", &[]).unwrap().allowed);
    assert!(!e.decide_url("http://10.20.3.4:8080/", &[]).unwrap().allowed);
    assert!(!e.decide_url("https://unlisted.test/", &pub_ip).unwrap().allowed);
}

#[test]
fn idn_and_trailing_dots_are_normalized() {
    let policy = EgressPolicy {
        allow: vec![Rule { host: Some("bücher.example".into()), ..Rule::default() }],
        ..EgressPolicy::default()
    };
    let e = Egress::new(&policy).unwrap();
    let a = [ip("93.184.215.14")];
    for url in [
        "http://bücher.example/",
        "http://xn--bcher-kva.example/",
        "http://BÜCHER.example./",
        "http://B%C3%BCcher.example/",
    ] {
        assert!(e.decide_url(url, &a).unwrap().allowed, "{url}");
    }
    assert!(!e.decide_url("http://bucher.example/", &a).unwrap().allowed);
}

#[test]
fn policy_errors_are_all_reported() {
    let policy = EgressPolicy {
        allow: vec![
            Rule { host: Some("*.".into()), ..Rule::default() },
            Rule { cidr: Some("10.0.0.1/8".into()), ..Rule::default() },
            Rule { host: Some("a.test".into()), cidr: Some("10.0.0.0/8".into()), ..Rule::default() },
        ],
        allow_builtin: vec!["127.0.0.1/32".into()],
        ..EgressPolicy::default()
    };
    let Err(palisade_egress::Error::Policy(problems)) = Egress::new(&policy) else { panic!() };
    assert_eq!(problems.len(), 4, "{problems:#?}");
}

fn denied_by_default(ip: IpAddr) -> bool {
    let e = public();
    !e.check_address(None, ip, Some("https"), Some(443)).allowed
}

proptest! {
    #[test]
    fn allowed_only_if_every_address_is_outside_the_denied_set(
        addrs in proptest::collection::vec(prop_oneof![
            any::<u32>().prop_map(|a| IpAddr::V4(a.into())),
            any::<u128>().prop_map(|a| IpAddr::V6(a.into())),
            any::<u32>().prop_map(|a| IpAddr::V6(std::net::Ipv4Addr::from(a).to_ipv6_mapped())),
            (0u32..65536).prop_map(|a| IpAddr::V4((0x7f00_0000 | a).into())),
            (0u32..65536).prop_map(|a| IpAddr::V4((0x0a00_0000 | a).into())),
            (any::<u32>(), any::<u64>()).prop_map(|(v4, rest)| IpAddr::V6(((0x2002u128 << 112) | (u128::from(v4) << 80) | u128::from(rest)).into())),
        ], 1..6)
    ) {
        let e = public();
        let d = e.decide_url("https://host.example/", &addrs).unwrap();
        let any_denied = addrs.iter().any(|a| denied_by_default(*a));
        prop_assert_eq!(d.allowed, !any_denied);
        // And the denied set really contains the built-in ranges, checked independently.
        for a in &addrs {
            let v4 = match a { IpAddr::V4(v) => Some(*v), IpAddr::V6(v) => v.to_ipv4_mapped() };
            if let Some(v4) = v4
                && (v4.is_loopback() || v4.is_private() || v4.is_link_local() || v4.is_multicast() || v4.is_unspecified() || v4.is_broadcast() || v4.is_documentation()) {
                    prop_assert!(denied_by_default(*a), "{}", a);
                }
        }
    }

    #[test]
    fn url_parsing_never_panics(s in "\\PC{0,80}") {
        let _ = public().decide_url(&s, &[]);
        let _ = public().decide_url(&format!("http://{s}/"), &[]);
    }
}
