//! A strict, small XML reader: one parse into one immutable tree with namespaces resolved.
//!
//! Built on `quick-xml`'s tokenizer, with the rules a signature-bearing protocol needs:
//! * no `DOCTYPE` (so no entity declarations, no external references, no entity expansion);
//! * only the five predefined entities and character references;
//! * limits on input size, depth, node count, attributes per element and text length;
//! * every prefix must be bound; elements and attributes carry their namespace URI, and lookups
//!   match `(namespace URI, local name)`, never a prefix;
//! * duplicate attributes (also by expanded name) and duplicate `ID` values are rejected;
//! * line endings and attribute values are normalized as XML 1.0 requires, so the canonical form
//!   computed from the tree is the one every conformant processor computes.
//!
//! ```
//! use palisade_saml::xml::{Document, Limits};
//! let doc = Document::parse(r#"<a xmlns="urn:x"><b ID="_1">hi<!-- c -->there</b></a>"#, &Limits::default())?;
//! let b = doc.root().child("urn:x", "b").unwrap();
//! assert_eq!(b.text(), "hithere");
//! assert_eq!(doc.element_by_id("_1").unwrap().local_name(), "b");
//! # Ok::<(), palisade_saml::xml::XmlError>(())
//! ```

use std::collections::HashMap;
use std::sync::Arc;

use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::Reader;
use serde::Deserialize;

/// The namespace bound to the `xml` prefix.
pub const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";
/// The namespace of namespace declarations.
pub const XMLNS_NS: &str = "http://www.w3.org/2000/xmlns/";

/// Why a document was refused by the reader.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum XmlError {
    /// The XML is not well-formed.
    #[error("malformed XML at byte {position}: {reason}")]
    Malformed {
        /// Byte offset where the problem was found.
        position: u64,
        /// What was wrong.
        reason: String,
    },
    /// A `DOCTYPE` declaration: refused outright (no DTDs, entities or external references).
    #[error("XML with a DOCTYPE declaration is refused (DTDs and entities are not allowed)")]
    Doctype,
    /// An entity reference other than the five predefined ones.
    #[error("undefined entity reference &{0};")]
    UndefinedEntity(String),
    /// A prefix used without a declaration.
    #[error("namespace prefix {0:?} is not declared")]
    UnboundPrefix(String),
    /// Two elements carry the same `ID` value.
    #[error("duplicate ID value {0:?}: two elements with one ID are refused")]
    DuplicateId(String),
    /// A configured limit was exceeded.
    #[error("XML limit exceeded: {what} (limit {limit})")]
    Limit {
        /// Which limit.
        what: &'static str,
        /// Its value.
        limit: usize,
    },
    /// The input is not UTF-8.
    #[error("XML input is not valid UTF-8")]
    NotUtf8,
}

/// Limits the reader enforces. The defaults suit SAML messages and metadata.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Maximum input size in bytes (default 1 MiB).
    pub max_bytes: usize,
    /// Maximum element nesting depth (default 64).
    pub max_depth: usize,
    /// Maximum number of nodes (default 100 000).
    pub max_nodes: usize,
    /// Maximum attributes (including namespace declarations) on one element (default 64).
    pub max_attributes: usize,
    /// Maximum length of one text node or attribute value in bytes (default 256 KiB).
    pub max_text: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_bytes: 1 << 20,
            max_depth: 64,
            max_nodes: 100_000,
            max_attributes: 64,
            max_text: 256 << 10,
        }
    }
}

/// Index of a node in a [`Document`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(usize);

/// An attribute with its namespace resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    /// Prefix as written (`None` for unprefixed).
    pub prefix: Option<String>,
    /// Local name.
    pub local: String,
    /// Namespace URI (`None` for unprefixed attributes).
    pub ns: Option<String>,
    /// Normalized value.
    pub value: String,
}

/// A namespace declaration as written on an element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NsDecl {
    /// Declared prefix (`None` for the default namespace).
    pub prefix: Option<String>,
    /// The URI (empty undeclares the default namespace).
    pub uri: String,
}

#[derive(Debug, Clone)]
pub(crate) struct ElementData {
    pub(crate) prefix: Option<String>,
    pub(crate) local: String,
    pub(crate) ns: Option<Arc<str>>,
    pub(crate) ns_decls: Vec<NsDecl>,
    pub(crate) attrs: Vec<Attribute>,
    /// Byte offset just after the start tag.
    pub(crate) start_tag_end: usize,
}

#[derive(Debug, Clone)]
pub(crate) enum NodeKind {
    Element(ElementData),
    Text(String),
    Comment(String),
    Pi { target: String, data: String },
}

#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub(crate) kind: NodeKind,
    pub(crate) parent: Option<NodeId>,
    pub(crate) children: Vec<NodeId>,
}

/// A parsed, immutable XML document.
#[derive(Debug, Clone)]
pub struct Document {
    pub(crate) nodes: Vec<Node>,
    root: NodeId,
    ids: HashMap<String, NodeId>,
}

fn malformed(position: u64, reason: impl Into<String>) -> XmlError {
    XmlError::Malformed { position, reason: reason.into() }
}

/// Normalizes line endings (`\r\n` and lone `\r` become `\n`).
fn normalize_eol(raw: &str, out: &mut String) {
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\r' {
            if chars.peek() == Some(&'\n') {
                chars.next();
            }
            out.push('\n');
        } else {
            out.push(c);
        }
    }
}

fn resolve_entity(name: &str) -> Result<char, XmlError> {
    match name {
        "lt" => Ok('<'),
        "gt" => Ok('>'),
        "amp" => Ok('&'),
        "apos" => Ok('\''),
        "quot" => Ok('"'),
        _ => {
            let num = name.strip_prefix('#').ok_or_else(|| XmlError::UndefinedEntity(name.to_owned()))?;
            let code = if let Some(hex) = num.strip_prefix('x') {
                u32::from_str_radix(hex, 16)
            } else {
                num.parse::<u32>()
            }
            .map_err(|_| XmlError::UndefinedEntity(name.to_owned()))?;
            let c = char::from_u32(code).ok_or_else(|| XmlError::UndefinedEntity(name.to_owned()))?;
            if !is_xml_char(c) {
                return Err(XmlError::UndefinedEntity(name.to_owned()));
            }
            Ok(c)
        }
    }
}

/// Whether `s` holds a character XML 1.0 does not allow (checked bytewise for plain ASCII).
fn has_invalid_char(s: &str) -> bool {
    if s.bytes().all(|b| (0x20..0x80).contains(&b) || matches!(b, b'\t' | b'\n' | b'\r')) {
        return false;
    }
    s.chars().any(|c| !is_xml_char(c))
}

fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

/// Attribute-value normalization (XML 1.0 §3.3.3, CDATA type): literal whitespace characters
/// become spaces, references are resolved (a `&#10;` stays a line feed).
fn normalize_attr(raw: &str, position: u64) -> Result<String, XmlError> {
    if has_invalid_char(raw) {
        return Err(malformed(position, "character not allowed in XML (attribute value)"));
    }
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(i) = rest.find(['&', '\r', '\n', '\t', '<']) {
        let (head, tail) = rest.split_at(i);
        out.push_str(head);
        let mut chars = tail.chars();
        match chars.next() {
            Some('&') => {
                let end = tail
                    .find(';')
                    .ok_or_else(|| malformed(position, "unterminated reference in attribute"))?;
                let name = tail.get(1..end).unwrap_or_default();
                out.push(resolve_entity(name)?);
                rest = tail.get(end + 1..).unwrap_or_default();
            }
            Some('\r') => {
                out.push(' ');
                rest = chars.as_str();
                if let Some(r) = rest.strip_prefix('\n') {
                    rest = r;
                }
            }
            Some('<') => return Err(malformed(position, "'<' in attribute value")),
            _ => {
                out.push(' ');
                rest = chars.as_str();
            }
        }
    }
    out.push_str(rest);
    Ok(out)
}

fn split_qname(q: &str) -> (Option<&str>, &str) {
    match q.split_once(':') {
        Some((p, l)) => (Some(p), l),
        None => (None, q),
    }
}

fn valid_name(n: &str) -> bool {
    // Plain ASCII names (almost all of them) are checked bytewise.
    if let Some((&first, rest)) = n.as_bytes().split_first()
        && n.is_ascii()
    {
        return (first.is_ascii_alphabetic() || first == b'_')
            && rest.iter().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    }
    let mut chars = n.chars();
    match chars.next() {
        Some(c) if c.is_alphabetic() || c == '_' => {}
        _ => return false,
    }
    chars.all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '\u{B7}'))
}

fn valid_qname(q: &str) -> bool {
    match q.split_once(':') {
        Some((p, l)) => valid_name(p) && valid_name(l),
        None => valid_name(q),
    }
}

struct Builder<'l> {
    limits: &'l Limits,
    nodes: Vec<Node>,
    stack: Vec<NodeId>,
    /// Namespace scopes: (prefix, uri) pushed per element, with the stack length per element.
    scopes: Vec<(Option<String>, Arc<str>)>,
    scope_marks: Vec<usize>,
    root: Option<NodeId>,
    ids: HashMap<String, NodeId>,
    pending_text: Option<String>,
}

impl Builder<'_> {
    fn lookup(&self, prefix: Option<&str>) -> Option<&str> {
        match prefix {
            Some("xml") => return Some(XML_NS),
            Some("xmlns") => return Some(XMLNS_NS),
            _ => {}
        }
        self.scopes
            .iter()
            .rev()
            .find(|(p, _)| p.as_deref() == prefix)
            .map(|(_, u)| &**u)
            .filter(|u| !u.is_empty())
    }

    /// Like `lookup`, as a shared string (elements of one namespace share one allocation).
    fn lookup_arc(&self, prefix: Option<&str>) -> Option<Arc<str>> {
        match prefix {
            Some("xml") => return Some(Arc::from(XML_NS)),
            Some("xmlns") => return Some(Arc::from(XMLNS_NS)),
            _ => {}
        }
        self.scopes
            .iter()
            .rev()
            .find(|(p, _)| p.as_deref() == prefix)
            .map(|(_, u)| u)
            .filter(|u| !u.is_empty())
            .cloned()
    }

    fn push_node(&mut self, kind: NodeKind, position: u64) -> Result<NodeId, XmlError> {
        if self.nodes.len() >= self.limits.max_nodes {
            return Err(XmlError::Limit { what: "node count", limit: self.limits.max_nodes });
        }
        let id = NodeId(self.nodes.len());
        let parent = self.stack.last().copied();
        if parent.is_none() {
            match kind {
                NodeKind::Element(_) => {
                    if self.root.is_some() {
                        return Err(malformed(position, "more than one root element"));
                    }
                    self.root = Some(id);
                }
                NodeKind::Text(_) => return Err(malformed(position, "text outside the root element")),
                // Comments and PIs outside the root element are not part of any signed element.
                _ => return Ok(id),
            }
        }
        self.nodes.push(Node { kind, parent, children: Vec::new() });
        if let Some(p) = parent
            && let Some(n) = self.nodes.get_mut(p.0)
        {
            n.children.push(id);
        }
        Ok(id)
    }

    fn flush_text(&mut self, position: u64) -> Result<(), XmlError> {
        if let Some(text) = self.pending_text.take() {
            if self.stack.is_empty() {
                if !text.chars().all(|c| matches!(c, ' ' | '\t' | '\n' | '\r')) {
                    return Err(malformed(position, "text outside the root element"));
                }
                return Ok(());
            }
            self.push_node(NodeKind::Text(text), position)?;
        }
        Ok(())
    }

    fn add_text(&mut self, s: &str) -> Result<(), XmlError> {
        let t = self.pending_text.get_or_insert_with(String::new);
        t.push_str(s);
        if t.len() > self.limits.max_text {
            return Err(XmlError::Limit { what: "text length", limit: self.limits.max_text });
        }
        Ok(())
    }

    fn start(&mut self, e: &BytesStart<'_>, position: u64, start_tag_end: usize) -> Result<NodeId, XmlError> {
        if self.stack.len() >= self.limits.max_depth {
            return Err(XmlError::Limit { what: "element depth", limit: self.limits.max_depth });
        }
        let name = e.name();
        let qname = std::str::from_utf8(name.as_ref()).map_err(|_| XmlError::NotUtf8)?;
        if !valid_qname(qname) {
            return Err(malformed(position, format!("invalid element name {qname:?}")));
        }
        let mut raw_attrs: Vec<(&str, String)> = Vec::new();
        for a in e.attributes().with_checks(true) {
            let a = a.map_err(|err| malformed(position, err.to_string()))?;
            if raw_attrs.len() >= self.limits.max_attributes {
                return Err(XmlError::Limit {
                    what: "attributes per element",
                    limit: self.limits.max_attributes,
                });
            }
            let key = std::str::from_utf8(a.key.into_inner()).map_err(|_| XmlError::NotUtf8)?;
            if !valid_qname(key) {
                return Err(malformed(position, format!("invalid attribute name {key:?}")));
            }
            let raw = std::str::from_utf8(&a.value).map_err(|_| XmlError::NotUtf8)?;
            if raw.len() > self.limits.max_text {
                return Err(XmlError::Limit { what: "attribute length", limit: self.limits.max_text });
            }
            raw_attrs.push((key, normalize_attr(raw, position)?));
        }
        self.scope_marks.push(self.scopes.len());
        let mut ns_decls = Vec::new();
        let mut plain = Vec::with_capacity(raw_attrs.len());
        for (key, value) in raw_attrs {
            if key == "xmlns" {
                self.scopes.push((None, Arc::from(value.as_str())));
                ns_decls.push(NsDecl { prefix: None, uri: value });
            } else if let Some(p) = key.strip_prefix("xmlns:") {
                if value.is_empty() {
                    return Err(malformed(
                        position,
                        format!("prefix {p:?} undeclared (not allowed in XML 1.0)"),
                    ));
                }
                if p == "xmlns"
                    || (p == "xml" && value != XML_NS)
                    || (p != "xml" && (value == XML_NS || value == XMLNS_NS))
                {
                    return Err(malformed(position, format!("illegal binding of prefix {p:?}")));
                }
                self.scopes.push((Some(p.to_owned()), Arc::from(value.as_str())));
                ns_decls.push(NsDecl { prefix: Some(p.to_owned()), uri: value });
            } else {
                plain.push((key, value));
            }
        }
        let (prefix, local) = split_qname(qname);
        let ns = match prefix {
            Some(p) => Some(self.lookup_arc(Some(p)).ok_or_else(|| XmlError::UnboundPrefix(p.to_owned()))?),
            None => self.lookup_arc(None),
        };
        let mut attrs: Vec<Attribute> = Vec::with_capacity(plain.len());
        for (key, value) in plain {
            let (ap, al) = split_qname(key);
            let ans = match ap {
                Some(p) => Some(
                    self.lookup(Some(p)).ok_or_else(|| XmlError::UnboundPrefix(p.to_owned()))?.to_owned(),
                ),
                None => None,
            };
            if attrs.iter().any(|x| x.local == al && x.ns == ans) {
                return Err(malformed(position, format!("duplicate attribute {key:?}")));
            }
            attrs.push(Attribute { prefix: ap.map(str::to_owned), local: al.to_owned(), ns: ans, value });
        }
        let id_value = attrs.iter().find(|a| a.ns.is_none() && a.local == "ID").map(|a| a.value.clone());
        let data = ElementData {
            prefix: prefix.map(str::to_owned),
            local: local.to_owned(),
            ns,
            ns_decls,
            attrs,
            start_tag_end,
        };
        let id = self.push_node(NodeKind::Element(data), position)?;
        if let Some(v) = id_value
            && self.ids.insert(v.clone(), id).is_some()
        {
            return Err(XmlError::DuplicateId(v));
        }
        self.stack.push(id);
        Ok(id)
    }

    fn end(&mut self) {
        self.stack.pop();
        if let Some(mark) = self.scope_marks.pop() {
            self.scopes.truncate(mark);
        }
    }
}

impl Document {
    /// Parses `input` with `limits`.
    pub fn parse(input: &str, limits: &Limits) -> Result<Self, XmlError> {
        if input.len() > limits.max_bytes {
            return Err(XmlError::Limit { what: "input size", limit: limits.max_bytes });
        }
        let input = input.strip_prefix('\u{FEFF}').unwrap_or(input);
        let mut reader = Reader::from_str(input);
        let config = reader.config_mut();
        config.trim_text(false);
        config.check_end_names = true;
        config.check_comments = true;
        config.expand_empty_elements = false;
        config.allow_unmatched_ends = false;
        config.allow_dangling_amp = false;
        let mut b = Builder {
            limits,
            nodes: Vec::new(),
            stack: Vec::new(),
            scopes: Vec::new(),
            scope_marks: Vec::new(),
            root: None,
            ids: HashMap::new(),
            pending_text: None,
        };
        let mut seen_anything = false;
        loop {
            let before = reader.buffer_position();
            let event = reader.read_event().map_err(|e| malformed(reader.error_position(), e.to_string()))?;
            let after = reader.buffer_position();
            let position = before;
            let after_usize = usize::try_from(after).unwrap_or(usize::MAX);
            match event {
                Event::Decl(_) => {
                    if seen_anything {
                        return Err(malformed(position, "XML declaration not at the start"));
                    }
                }
                Event::DocType(_) => return Err(XmlError::Doctype),
                Event::Start(e) => {
                    b.flush_text(position)?;
                    b.start(&e, position, after_usize)?;
                }
                Event::Empty(e) => {
                    b.flush_text(position)?;
                    b.start(&e, position, after_usize)?;
                    b.end();
                }
                Event::End(_) => {
                    b.flush_text(position)?;
                    if b.stack.is_empty() {
                        return Err(malformed(position, "unexpected end tag"));
                    }
                    b.end();
                }
                Event::Text(t) => {
                    let raw = std::str::from_utf8(&t).map_err(|_| XmlError::NotUtf8)?;
                    if raw.contains("]]>") {
                        return Err(malformed(position, "']]>' in text"));
                    }
                    if has_invalid_char(raw) {
                        return Err(malformed(position, "character not allowed in XML"));
                    }
                    let normalized;
                    let s: &str = if raw.contains('\r') {
                        let mut n = String::with_capacity(raw.len());
                        normalize_eol(raw, &mut n);
                        normalized = n;
                        &normalized
                    } else {
                        raw
                    };
                    if b.stack.is_empty() && !s.chars().all(|c| matches!(c, ' ' | '\t' | '\n')) {
                        return Err(malformed(position, "text outside the root element"));
                    }
                    b.add_text(s)?;
                }
                Event::GeneralRef(r) => {
                    if b.stack.is_empty() {
                        return Err(malformed(position, "reference outside the root element"));
                    }
                    let name = std::str::from_utf8(&r).map_err(|_| XmlError::NotUtf8)?;
                    let c = resolve_entity(name)?;
                    let mut buf = [0u8; 4];
                    b.add_text(c.encode_utf8(&mut buf))?;
                }
                Event::CData(t) => {
                    if b.stack.is_empty() {
                        return Err(malformed(position, "CDATA outside the root element"));
                    }
                    let raw = std::str::from_utf8(&t).map_err(|_| XmlError::NotUtf8)?;
                    if has_invalid_char(raw) {
                        return Err(malformed(position, "character not allowed in XML (CDATA)"));
                    }
                    let mut s = String::with_capacity(raw.len());
                    normalize_eol(raw, &mut s);
                    b.add_text(&s)?;
                }
                Event::Comment(t) => {
                    b.flush_text(position)?;
                    let raw = std::str::from_utf8(&t).map_err(|_| XmlError::NotUtf8)?;
                    if has_invalid_char(raw) {
                        return Err(malformed(position, "character not allowed in XML (comment)"));
                    }
                    let mut s = String::with_capacity(raw.len());
                    normalize_eol(raw, &mut s);
                    b.push_node(NodeKind::Comment(s), position)?;
                }
                Event::PI(p) => {
                    b.flush_text(position)?;
                    let target = std::str::from_utf8(p.target()).map_err(|_| XmlError::NotUtf8)?.to_owned();
                    if target.eq_ignore_ascii_case("xml") {
                        return Err(malformed(position, "misplaced XML declaration"));
                    }
                    let raw = std::str::from_utf8(p.content()).map_err(|_| XmlError::NotUtf8)?;
                    if has_invalid_char(raw) {
                        return Err(malformed(
                            position,
                            "character not allowed in XML (processing instruction)",
                        ));
                    }
                    let mut data = String::new();
                    normalize_eol(raw.trim_start(), &mut data);
                    b.push_node(NodeKind::Pi { target, data }, position)?;
                }
                Event::Eof => break,
            }
            seen_anything = true;
        }
        if !b.stack.is_empty() {
            return Err(malformed(reader.buffer_position(), "unclosed element at end of input"));
        }
        let root = b.root.ok_or_else(|| malformed(0, "no root element"))?;
        Ok(Document { nodes: b.nodes, root, ids: b.ids })
    }

    /// Parses with the default [`Limits`].
    pub fn parse_default(input: &str) -> Result<Self, XmlError> {
        Self::parse(input, &Limits::default())
    }

    /// Parses bytes (UTF-8, optional BOM).
    pub fn parse_bytes(input: &[u8], limits: &Limits) -> Result<Self, XmlError> {
        if input.len() > limits.max_bytes {
            return Err(XmlError::Limit { what: "input size", limit: limits.max_bytes });
        }
        let s = std::str::from_utf8(input).map_err(|_| XmlError::NotUtf8)?;
        Self::parse(s, limits)
    }

    /// The root element.
    pub fn root(&self) -> Element<'_> {
        Element { doc: self, id: self.root }
    }

    /// The element whose unqualified `ID` attribute has this value.
    pub fn element_by_id(&self, id: &str) -> Option<Element<'_>> {
        self.ids.get(id).map(|&n| Element { doc: self, id: n })
    }

    pub(crate) fn node(&self, id: NodeId) -> Option<&Node> {
        self.nodes.get(id.0)
    }

    pub(crate) fn element_data(&self, id: NodeId) -> Option<&ElementData> {
        match self.node(id).map(|n| &n.kind) {
            Some(NodeKind::Element(e)) => Some(e),
            _ => None,
        }
    }

    /// The element at `id`, if that node is an element.
    pub fn element(&self, id: NodeId) -> Option<Element<'_>> {
        self.element_data(id).map(|_| Element { doc: self, id })
    }

    /// Number of nodes in the tree.
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }
}

/// A reference to an element of a [`Document`].
#[derive(Clone, Copy)]
pub struct Element<'d> {
    pub(crate) doc: &'d Document,
    pub(crate) id: NodeId,
}

impl std::fmt::Debug for Element<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Element({{{}}}{})", self.namespace().unwrap_or(""), self.local_name())
    }
}

impl PartialEq for Element<'_> {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self.doc, other.doc) && self.id == other.id
    }
}

impl<'d> Element<'d> {
    fn data(&self) -> &'d ElementData {
        // Invariant: an `Element` is only built for element nodes of `doc`.
        static EMPTY: std::sync::OnceLock<ElementData> = std::sync::OnceLock::new();
        self.doc.element_data(self.id).unwrap_or_else(|| {
            EMPTY.get_or_init(|| ElementData {
                prefix: None,
                local: String::new(),
                ns: None,
                ns_decls: Vec::new(),
                attrs: Vec::new(),
                start_tag_end: 0,
            })
        })
    }

    /// The node id.
    pub fn node_id(&self) -> NodeId {
        self.id
    }

    /// The document.
    pub fn document(&self) -> &'d Document {
        self.doc
    }

    /// Local name.
    pub fn local_name(&self) -> &'d str {
        &self.data().local
    }

    /// Prefix as written.
    pub fn prefix(&self) -> Option<&'d str> {
        self.data().prefix.as_deref()
    }

    /// Namespace URI.
    pub fn namespace(&self) -> Option<&'d str> {
        self.data().ns.as_deref()
    }

    /// Whether this element is `{ns}local`.
    pub fn is(&self, ns: &str, local: &str) -> bool {
        self.data().local == local && self.data().ns.as_deref() == Some(ns)
    }

    /// Attributes (namespace declarations excluded).
    pub fn attributes(&self) -> &'d [Attribute] {
        &self.data().attrs
    }

    /// Namespace declarations written on this element.
    pub fn ns_decls(&self) -> &'d [NsDecl] {
        &self.data().ns_decls
    }

    /// Value of the unqualified attribute `name`.
    pub fn attr(&self, name: &str) -> Option<&'d str> {
        self.data().attrs.iter().find(|a| a.ns.is_none() && a.local == name).map(|a| a.value.as_str())
    }

    /// Value of the attribute `{ns}name`.
    pub fn attr_ns(&self, ns: &str, name: &str) -> Option<&'d str> {
        self.data()
            .attrs
            .iter()
            .find(|a| a.ns.as_deref() == Some(ns) && a.local == name)
            .map(|a| a.value.as_str())
    }

    /// The parent element.
    pub fn parent(&self) -> Option<Element<'d>> {
        let p = self.doc.node(self.id)?.parent?;
        self.doc.element(p)
    }

    /// Child node ids (elements, text, comments, PIs) in order.
    pub(crate) fn child_nodes(&self) -> &'d [NodeId] {
        self.doc.node(self.id).map(|n| n.children.as_slice()).unwrap_or_default()
    }

    /// Child elements in order.
    pub fn children(&self) -> impl Iterator<Item = Element<'d>> + 'd {
        let doc = self.doc;
        self.child_nodes().iter().filter_map(move |&c| doc.element(c))
    }

    /// Child elements named `{ns}local`.
    pub fn children_named(&self, ns: &'d str, local: &'d str) -> impl Iterator<Item = Element<'d>> + 'd {
        self.children().filter(move |c| c.is(ns, local))
    }

    /// The first child element named `{ns}local`.
    pub fn child(&self, ns: &str, local: &str) -> Option<Element<'d>> {
        self.children().find(|c| c.is(ns, local))
    }

    /// Whether any child node is text that is not whitespace.
    pub fn has_non_whitespace_text(&self) -> bool {
        self.child_nodes().iter().any(|&c| {
            matches!(self.doc.node(c).map(|n| &n.kind), Some(NodeKind::Text(t)) if !t.chars().all(|ch| matches!(ch, ' ' | '\t' | '\n' | '\r')))
        })
    }

    /// The concatenation of every descendant text node (comments and PIs contribute nothing, so
    /// a comment inside a value can never truncate it).
    pub fn text(&self) -> String {
        let mut out = String::new();
        self.collect_text(self.id, &mut out);
        out
    }

    fn collect_text(&self, id: NodeId, out: &mut String) {
        let Some(node) = self.doc.node(id) else { return };
        match &node.kind {
            NodeKind::Text(t) => out.push_str(t),
            NodeKind::Element(_) => {
                for &c in &node.children {
                    self.collect_text(c, out);
                }
            }
            _ => {}
        }
    }

    /// The namespace URI bound to `prefix` (`None` = default namespace) where this element is.
    pub fn lookup_namespace(&self, prefix: Option<&str>) -> Option<&'d str> {
        match prefix {
            Some("xml") => return Some(XML_NS),
            Some("xmlns") => return Some(XMLNS_NS),
            _ => {}
        }
        let mut cur = Some(*self);
        while let Some(e) = cur {
            if let Some(d) = e.ns_decls().iter().find(|d| d.prefix.as_deref() == prefix) {
                return if d.uri.is_empty() { None } else { Some(d.uri.as_str()) };
            }
            cur = e.parent();
        }
        None
    }

    /// All namespace bindings in scope here (innermost wins), excluding `xml`.
    pub fn in_scope_namespaces(&self) -> Vec<NsDecl> {
        let mut out: Vec<NsDecl> = Vec::new();
        let mut cur = Some(*self);
        while let Some(e) = cur {
            for d in e.ns_decls() {
                if !out.iter().any(|o| o.prefix == d.prefix) {
                    out.push(d.clone());
                }
            }
            cur = e.parent();
        }
        out.retain(|d| !d.uri.is_empty());
        out
    }

    /// Whether `ancestor` is this element or one of its ancestors.
    pub fn is_within(&self, ancestor: NodeId) -> bool {
        let mut cur = Some(self.id);
        while let Some(c) = cur {
            if c == ancestor {
                return true;
            }
            cur = self.doc.node(c).and_then(|n| n.parent);
        }
        false
    }

    /// Byte offset just after this element's start tag in the parsed input.
    pub(crate) fn start_tag_end(&self) -> usize {
        self.data().start_tag_end
    }

    /// Descendant elements (depth first, excluding self).
    pub fn descendants(&self) -> Vec<Element<'d>> {
        let mut out = Vec::new();
        let mut stack: Vec<NodeId> = self.child_nodes().iter().rev().copied().collect();
        while let Some(n) = stack.pop() {
            if let Some(e) = self.doc.element(n) {
                out.push(e);
                stack.extend(e.child_nodes().iter().rev().copied());
            }
        }
        out
    }
}

/// Escapes text content for building XML.
pub fn escape_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
    out
}

/// Escapes an attribute value (double-quoted) for building XML.
pub fn escape_attr(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
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
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
    use super::*;

    fn parse(s: &str) -> Result<Document, XmlError> {
        Document::parse(s, &Limits::default())
    }

    #[test]
    fn doctype_is_refused() {
        let x = r#"<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "b">]><r>&a;</r>"#;
        assert_eq!(parse(x).unwrap_err(), XmlError::Doctype);
    }

    #[test]
    fn undefined_entity_is_refused() {
        assert!(matches!(parse("<r>&foo;</r>"), Err(XmlError::UndefinedEntity(_))));
    }

    #[test]
    fn namespaces_resolve_by_uri() {
        let d = parse(r#"<a:x xmlns:a="urn:1"><b:y xmlns:b="urn:1" b:z="v"/></a:x>"#).unwrap();
        let y = d.root().child("urn:1", "y").unwrap();
        assert_eq!(y.attr_ns("urn:1", "z"), Some("v"));
        assert!(matches!(parse("<a:x/>"), Err(XmlError::UnboundPrefix(_))));
    }

    #[test]
    fn duplicate_ids_and_attrs() {
        assert!(matches!(parse(r#"<r><a ID="1"/><b ID="1"/></r>"#), Err(XmlError::DuplicateId(_))));
        assert!(parse(r#"<r a="1" a="2"/>"#).is_err());
        assert!(parse(r#"<r xmlns:p="u" xmlns:q="u" p:a="1" q:a="2"/>"#).is_err());
    }

    #[test]
    fn text_concatenates_around_comments_and_entities() {
        let d = parse("<r>a<!--x-->b&amp;&#x41;<![CDATA[<c>]]>\r\n</r>").unwrap();
        assert_eq!(d.root().text(), "ab&A<c>\n");
    }

    #[test]
    fn attribute_normalization() {
        let d = parse("<r a=\"x\ty\r\nz&#10;\"/>").unwrap();
        assert_eq!(d.root().attr("a"), Some("x y z\n"));
    }

    #[test]
    fn limits() {
        let deep = "<a>".repeat(100) + &"</a>".repeat(100);
        assert!(matches!(parse(&deep), Err(XmlError::Limit { .. })));
        assert!(parse("<a></b>").is_err());
        assert!(parse("<a/><b/>").is_err());
        assert!(parse("x<a/>").is_err());
        assert!(parse("<a>").is_err());
    }
}
