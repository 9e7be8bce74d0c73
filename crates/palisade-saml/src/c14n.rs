//! Exclusive XML Canonicalization 1.0 (<https://www.w3.org/TR/xml-exc-c14n/>), with and without
//! comments, with an `InclusiveNamespaces PrefixList`, and the enveloped-signature transform (an
//! excluded subtree). Applies to an element and its descendants — the node-set a same-document
//! `#ID` reference selects.
//!
//! ```
//! use palisade_saml::c14n::{canonicalize, C14nOptions};
//! use palisade_saml::xml::Document;
//! let doc = Document::parse_default(r#"<a:r xmlns:a="urn:a" xmlns:b="urn:b" z="1" a:y="2"><a:c/></a:r>"#)?;
//! let out = canonicalize(doc.root(), &C14nOptions::default());
//! assert_eq!(out, r#"<a:r xmlns:a="urn:a" z="1" a:y="2"><a:c></a:c></a:r>"#);
//! # Ok::<(), palisade_saml::xml::XmlError>(())
//! ```

use crate::xml::{Attribute, Element, NodeId, NodeKind};

/// Exclusive c14n without comments.
pub const EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
/// Exclusive c14n with comments.
pub const EXC_C14N_WITH_COMMENTS: &str = "http://www.w3.org/2001/10/xml-exc-c14n#WithComments";

/// How to canonicalize.
#[derive(Debug, Clone, Default)]
pub struct C14nOptions {
    /// Keep comments (`#WithComments`).
    pub with_comments: bool,
    /// Prefixes treated as in inclusive c14n (`InclusiveNamespaces PrefixList`; `#default` for the
    /// default namespace).
    pub inclusive_prefixes: Vec<String>,
    /// A subtree left out of the output (the enveloped signature).
    pub exclude: Option<NodeId>,
}

/// Canonical form of `apex` and its descendants.
pub fn canonicalize(apex: Element<'_>, opts: &C14nOptions) -> String {
    let mut out = String::with_capacity(1024);
    let inclusive: Vec<Option<&str>> = opts
        .inclusive_prefixes
        .iter()
        .map(|p| if p == "#default" { None } else { Some(p.as_str()) })
        .collect();
    let mut rendered: Vec<(Option<String>, String)> = Vec::new();
    write_element(apex, opts, &inclusive, &mut rendered, &mut out);
    out
}

fn rendered_value<'a>(rendered: &'a [(Option<String>, String)], prefix: Option<&str>) -> &'a str {
    rendered.iter().rev().find(|(p, _)| p.as_deref() == prefix).map(|(_, u)| u.as_str()).unwrap_or("")
}

fn write_element(
    e: Element<'_>,
    opts: &C14nOptions,
    inclusive: &[Option<&str>],
    rendered: &mut Vec<(Option<String>, String)>,
    out: &mut String,
) {
    if Some(e.node_id()) == opts.exclude {
        return;
    }
    // Namespace nodes to output: visibly utilized prefixes, plus the inclusive ones in scope.
    let mut candidates: Vec<Option<&str>> = Vec::with_capacity(4);
    candidates.push(e.prefix());
    for a in e.attributes() {
        if let Some(p) = a.prefix.as_deref()
            && p != "xml"
            && !candidates.contains(&Some(p))
        {
            candidates.push(Some(p));
        }
    }
    if !inclusive.is_empty() {
        for d in e.in_scope_namespaces() {
            let p = d.prefix.as_deref();
            if inclusive.contains(&p) && !candidates.contains(&p) {
                // Owned lookups below use `lookup_namespace`, so a borrowed prefix from the
                // inclusive list is enough.
                if let Some(ip) = inclusive.iter().find(|x| **x == p) {
                    candidates.push(*ip);
                }
            }
        }
        if inclusive.contains(&None) && !candidates.contains(&None) {
            candidates.push(None);
        }
    }
    let mut decls: Vec<(Option<&str>, &str)> = Vec::new();
    for p in candidates {
        let uri = e.lookup_namespace(p).unwrap_or("");
        if p.is_some() && uri.is_empty() {
            continue;
        }
        if rendered_value(rendered, p) != uri {
            decls.push((p, uri));
        }
    }
    decls.sort_by(|a, b| a.0.unwrap_or("").cmp(b.0.unwrap_or("")));
    let mark = rendered.len();
    out.push('<');
    push_qname(out, e.prefix(), e.local_name());
    for (p, uri) in &decls {
        match p {
            Some(p) => {
                out.push_str(" xmlns:");
                out.push_str(p);
            }
            None => out.push_str(" xmlns"),
        }
        out.push_str("=\"");
        escape_attr_into(uri, out);
        out.push('"');
        rendered.push((p.map(str::to_owned), (*uri).to_owned()));
    }
    let mut attrs: Vec<&Attribute> = e.attributes().iter().collect();
    attrs.sort_by(|a, b| {
        (a.ns.as_deref().unwrap_or(""), a.local.as_str())
            .cmp(&(b.ns.as_deref().unwrap_or(""), b.local.as_str()))
    });
    for a in attrs {
        out.push(' ');
        push_qname(out, a.prefix.as_deref(), &a.local);
        out.push_str("=\"");
        escape_attr_into(&a.value, out);
        out.push('"');
    }
    out.push('>');
    let doc = e.document();
    for &c in e.child_nodes() {
        if Some(c) == opts.exclude {
            continue;
        }
        match doc.node(c).map(|n| &n.kind) {
            Some(NodeKind::Element(_)) => {
                if let Some(ce) = doc.element(c) {
                    write_element(ce, opts, inclusive, rendered, out);
                }
            }
            Some(NodeKind::Text(t)) => escape_text_into(t, out),
            Some(NodeKind::Comment(t)) if opts.with_comments => {
                out.push_str("<!--");
                out.push_str(t);
                out.push_str("-->");
            }
            Some(NodeKind::Comment(_)) => {}
            Some(NodeKind::Pi { target, data }) => {
                out.push_str("<?");
                out.push_str(target);
                if !data.is_empty() {
                    out.push(' ');
                    out.push_str(data);
                }
                out.push_str("?>");
            }
            None => {}
        }
    }
    out.push_str("</");
    push_qname(out, e.prefix(), e.local_name());
    out.push('>');
    rendered.truncate(mark);
}

fn push_qname(out: &mut String, prefix: Option<&str>, local: &str) {
    if let Some(p) = prefix {
        out.push_str(p);
        out.push(':');
    }
    out.push_str(local);
}

fn escape_text_into(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
}

fn escape_attr_into(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '"' => out.push_str("&quot;"),
            '\t' => out.push_str("&#x9;"),
            '\n' => out.push_str("&#xA;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
    use super::*;
    use crate::xml::Document;

    fn c14n(s: &str, opts: &C14nOptions) -> String {
        let d = Document::parse_default(s).unwrap();
        canonicalize(d.root(), opts)
    }

    #[test]
    fn unused_namespaces_dropped_and_attributes_sorted() {
        let x = r#"<r xmlns="urn:d" xmlns:u="urn:unused" xmlns:b="urn:b" b:z="1" a="2" xmlns:a="urn:a" a:z="3"/>"#;
        assert_eq!(
            c14n(x, &C14nOptions::default()),
            r#"<r xmlns="urn:d" xmlns:a="urn:a" xmlns:b="urn:b" a="2" a:z="3" b:z="1"></r>"#
        );
    }

    #[test]
    fn default_namespace_undeclared() {
        let x = r#"<r xmlns="urn:d"><c xmlns=""/></r>"#;
        assert_eq!(c14n(x, &C14nOptions::default()), r#"<r xmlns="urn:d"><c xmlns=""></c></r>"#);
    }

    #[test]
    fn inherited_prefix_rendered_at_apex_and_not_repeated() {
        let d =
            Document::parse_default(r#"<p:a xmlns:p="urn:p" xmlns:q="urn:q"><p:b><p:c/><q:d/></p:b></p:a>"#)
                .unwrap();
        let b = d.root().children().next().unwrap();
        assert_eq!(
            canonicalize(b, &C14nOptions::default()),
            r#"<p:b xmlns:p="urn:p"><p:c></p:c><q:d xmlns:q="urn:q"></q:d></p:b>"#
        );
    }

    #[test]
    fn inclusive_prefix_list() {
        let d = Document::parse_default(r#"<a xmlns:xs="urn:xs" xmlns:n="urn:n"><b/></a>"#).unwrap();
        let opts = C14nOptions { inclusive_prefixes: vec!["xs".into()], ..Default::default() };
        assert_eq!(canonicalize(d.root(), &opts), r#"<a xmlns:xs="urn:xs"><b></b></a>"#);
    }

    #[test]
    fn comments_and_escaping() {
        let x = "<r a=\"&lt;&amp;&quot;&#9;&#10;&#13;'>\">x<!--c-->&gt;&#13;<![CDATA[&]]><?pi  d?></r>";
        assert_eq!(
            c14n(x, &C14nOptions::default()),
            "<r a=\"&lt;&amp;&quot;&#x9;&#xA;&#xD;'>\">x&gt;&#xD;&amp;<?pi d?></r>"
        );
        let with = C14nOptions { with_comments: true, ..Default::default() };
        assert!(c14n(x, &with).contains("<!--c-->"));
    }
}
