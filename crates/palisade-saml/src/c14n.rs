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

/// Where canonical output goes: a string, or straight into a digest.
pub(crate) trait Sink {
    fn put(&mut self, s: &str);
}

impl Sink for String {
    fn put(&mut self, s: &str) {
        self.push_str(s);
    }
}

/// Feeds canonical output into a hash through a small buffer (few calls into the hash, no
/// allocation of the whole canonical form).
pub(crate) struct DigestSink {
    ctx: aws_lc_rs::digest::Context,
    buf: [u8; 2048],
    len: usize,
}

impl DigestSink {
    pub(crate) fn new(alg: &'static aws_lc_rs::digest::Algorithm) -> Self {
        Self { ctx: aws_lc_rs::digest::Context::new(alg), buf: [0; 2048], len: 0 }
    }

    fn flush(&mut self) {
        if let Some(pending) = self.buf.get(..self.len) {
            self.ctx.update(pending);
        }
        self.len = 0;
    }

    pub(crate) fn finish(mut self) -> aws_lc_rs::digest::Digest {
        self.flush();
        self.ctx.finish()
    }
}

impl Sink for DigestSink {
    fn put(&mut self, s: &str) {
        let bytes = s.as_bytes();
        if self.len + bytes.len() > self.buf.len() {
            self.flush();
            if bytes.len() > self.buf.len() {
                self.ctx.update(bytes);
                return;
            }
        }
        if let Some(dst) = self.buf.get_mut(self.len..self.len + bytes.len()) {
            dst.copy_from_slice(bytes);
            self.len += bytes.len();
        }
    }
}

/// Canonical form of `apex` and its descendants.
pub fn canonicalize(apex: Element<'_>, opts: &C14nOptions) -> String {
    let mut out = String::with_capacity(4096);
    canonicalize_into(apex, opts, &mut out);
    out
}

/// Writes the canonical form of `apex` and its descendants into `out`.
pub(crate) fn canonicalize_into<S: Sink>(apex: Element<'_>, opts: &C14nOptions, out: &mut S) {
    let inclusive: Vec<Option<&str>> = opts
        .inclusive_prefixes
        .iter()
        .map(|p| if p == "#default" { None } else { Some(p.as_str()) })
        .collect();
    let mut w = Writer {
        exclude: opts.exclude,
        with_comments: opts.with_comments,
        inclusive,
        rendered: Vec::with_capacity(8),
        candidates: Vec::with_capacity(4),
        decls: Vec::with_capacity(4),
        attrs: Vec::with_capacity(8),
        out,
    };
    w.element(apex);
}

/// Canonicalization state. Everything borrows from the document or the options: no string is
/// copied while writing.
struct Writer<'a, 'o, S> {
    exclude: Option<NodeId>,
    with_comments: bool,
    inclusive: Vec<Option<&'a str>>,
    /// Namespace declarations output by ancestors (prefix, URI), innermost last.
    rendered: Vec<(Option<&'a str>, &'a str)>,
    candidates: Vec<Option<&'a str>>,
    decls: Vec<(Option<&'a str>, &'a str)>,
    attrs: Vec<&'a Attribute>,
    out: &'o mut S,
}

impl<'a, S: Sink> Writer<'a, '_, S> {
    fn rendered_value(&self, prefix: Option<&str>) -> &'a str {
        self.rendered.iter().rev().find(|(p, _)| *p == prefix).map(|(_, u)| *u).unwrap_or("")
    }

    fn element(&mut self, e: Element<'a>) {
        if Some(e.node_id()) == self.exclude {
            return;
        }
        // Namespace nodes to output: visibly utilized prefixes, plus the inclusive ones in scope.
        self.candidates.clear();
        self.candidates.push(e.prefix());
        for a in e.attributes() {
            if let Some(p) = a.prefix.as_deref()
                && p != "xml"
                && !self.candidates.contains(&Some(p))
            {
                self.candidates.push(Some(p));
            }
        }
        for i in 0..self.inclusive.len() {
            let Some(&p) = self.inclusive.get(i) else { break };
            // The `xml` namespace is never declared in canonical output.
            if p != Some("xml")
                && !self.candidates.contains(&p)
                && (p.is_none() || e.lookup_namespace(p).is_some())
            {
                self.candidates.push(p);
            }
        }
        self.decls.clear();
        for i in 0..self.candidates.len() {
            let Some(&p) = self.candidates.get(i) else { break };
            let uri = e.lookup_namespace(p).unwrap_or("");
            if p.is_some() && uri.is_empty() {
                continue;
            }
            if self.rendered_value(p) != uri {
                self.decls.push((p, uri));
            }
        }
        self.decls.sort_unstable_by(|a, b| a.0.unwrap_or("").cmp(b.0.unwrap_or("")));
        let mark = self.rendered.len();
        self.out.put("<");
        self.qname(e.prefix(), e.local_name());
        for i in 0..self.decls.len() {
            let Some(&(p, uri)) = self.decls.get(i) else { break };
            match p {
                Some(p) => {
                    self.out.put(" xmlns:");
                    self.out.put(p);
                }
                None => self.out.put(" xmlns"),
            }
            self.out.put("=\"");
            escape_attr_into(uri, self.out);
            self.out.put("\"");
            self.rendered.push((p, uri));
        }
        let attributes = e.attributes();
        fn key(a: &Attribute) -> (&str, &str) {
            (a.ns.as_deref().unwrap_or(""), a.local.as_str())
        }
        if attributes.is_sorted_by(|a, b| key(a) <= key(b)) {
            for a in attributes {
                self.attribute(a);
            }
        } else {
            let mut sorted = std::mem::take(&mut self.attrs);
            sorted.clear();
            sorted.extend(attributes.iter());
            sorted.sort_unstable_by(|a, b| key(a).cmp(&key(b)));
            for a in &sorted {
                self.attribute(a);
            }
            self.attrs = sorted;
        }
        self.out.put(">");
        let doc = e.document();
        for &c in e.child_nodes() {
            if Some(c) == self.exclude {
                continue;
            }
            match doc.node(c).map(|n| &n.kind) {
                Some(NodeKind::Element(_)) => {
                    if let Some(ce) = doc.element(c) {
                        self.element(ce);
                    }
                }
                Some(NodeKind::Text(t)) => escape_text_into(t, self.out),
                Some(NodeKind::Comment(t)) if self.with_comments => {
                    self.out.put("<!--");
                    self.out.put(t);
                    self.out.put("-->");
                }
                Some(NodeKind::Comment(_)) => {}
                Some(NodeKind::Pi { target, data }) => {
                    self.out.put("<?");
                    self.out.put(target);
                    if !data.is_empty() {
                        self.out.put(" ");
                        self.out.put(data);
                    }
                    self.out.put("?>");
                }
                None => {}
            }
        }
        self.out.put("</");
        self.qname(e.prefix(), e.local_name());
        self.out.put(">");
        self.rendered.truncate(mark);
    }

    fn attribute(&mut self, a: &Attribute) {
        self.out.put(" ");
        self.qname(a.prefix.as_deref(), &a.local);
        self.out.put("=\"");
        escape_attr_into(&a.value, self.out);
        self.out.put("\"");
    }

    fn qname(&mut self, prefix: Option<&str>, local: &str) {
        if let Some(p) = prefix {
            self.out.put(p);
            self.out.put(":");
        }
        self.out.put(local);
    }
}

/// Writes `s` with the characters in `special` replaced (all replaced characters are ASCII, so
/// every slice boundary is a character boundary).
fn escape_into<S: Sink + ?Sized>(s: &str, out: &mut S, replace: impl Fn(u8) -> Option<&'static str>) {
    let mut last = 0;
    for (i, b) in s.bytes().enumerate() {
        if let Some(rep) = replace(b) {
            out.put(s.get(last..i).unwrap_or_default());
            out.put(rep);
            last = i + 1;
        }
    }
    out.put(s.get(last..).unwrap_or_default());
}

fn escape_text_into<S: Sink + ?Sized>(s: &str, out: &mut S) {
    escape_into(s, out, |b| match b {
        b'&' => Some("&amp;"),
        b'<' => Some("&lt;"),
        b'>' => Some("&gt;"),
        b'\r' => Some("&#xD;"),
        _ => None,
    });
}

fn escape_attr_into<S: Sink + ?Sized>(s: &str, out: &mut S) {
    escape_into(s, out, |b| match b {
        b'&' => Some("&amp;"),
        b'<' => Some("&lt;"),
        b'"' => Some("&quot;"),
        b'\t' => Some("&#x9;"),
        b'\n' => Some("&#xA;"),
        b'\r' => Some("&#xD;"),
        _ => None,
    });
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
