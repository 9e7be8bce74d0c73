//! Chapter: outbound allowlists and SSRF protection (palisade-egress).

use palisade::egress::{Egress, EgressPolicy, PinnedResolver, Rule};

use crate::step;

pub async fn run() -> anyhow::Result<()> {
    // A tenant's users type connection URLs; the platform must not become a proxy inward.
    let platform = Egress::new(&EgressPolicy::public_internet())?;
    let dns = PinnedResolver::default()
        .pin("api.partner.example", vec!["93.184.215.14".parse()?])
        .pin("rebind.attacker.test", vec!["93.184.215.14".parse()?, "127.0.0.1".parse()?]);
    for url in [
        "https://api.partner.example/v1/orders",
        "http://169.254.169.254/latest/meta-data/iam/",
        "http://0x7f.1:6379/",
        "http://[::ffff:10.0.0.8]/admin",
        "http://allowed.example@127.0.0.1/",
        "https://rebind.attacker.test/",
    ] {
        let d = platform.check(url, &dns).await?;
        step(format!("{url} -> {}", d.explain()));
    }

    // An on-premises agent may reach only what its tenant authorized.
    let agent = Egress::new(&EgressPolicy {
        allow: vec![
            Rule { host: Some("*.corp.example".into()), schemes: vec!["https".into()], ..Rule::default() },
            Rule {
                cidr: Some("10.20.0.0/16".into()),
                ports: vec![5432],
                label: Some("Postgres subnet".into()),
                ..Rule::default()
            },
        ],
        schemes: vec!["https".into(), "postgres".into()],
        allow_builtin: vec!["10.0.0.0/8".into()],
        ..EgressPolicy::default()
    })?;
    let dns = PinnedResolver::default()
        .pin("erp.corp.example", vec!["93.184.215.15".parse()?])
        .pin("github.com", vec!["140.82.121.4".parse()?]);
    for url in [
        "postgres://10.20.4.4:5432/jobs",
        "http://10.20.4.4:8080/",
        "https://erp.corp.example/",
        "https://github.com/",
    ] {
        let d = agent.check(url, &dns).await?;
        step(format!("agent: {url} -> {}", d.explain()));
    }
    Ok(())
}
