//! Differential: palisade's exclusive c14n against libxml2's (`xmlC14NExecute` in exclusive mode,
//! the canonicalizer libxmlsec1 uses) on inputs both readers accept. The output must be equal
//! byte for byte.
//!
//! Input: three selector bytes, then the XML document.
//! * byte 0: bit 0 = with comments; bits 1-2 = the `InclusiveNamespaces PrefixList`
//!   (none, `#default`, `xs`, `#default xs p`); bit 3 = leave a descendant subtree out (as the
//!   enveloped-signature transform does);
//! * byte 1: which element is the apex (index in document order) — SAML canonicalizes an
//!   Assertion inside a Response, so inherited namespaces matter;
//! * byte 2: which descendant of the apex is left out.
//!
//! libxml2 is reached through a minimal `extern` block (this crate is outside the workspace and
//! its `forbid(unsafe_code)`): the node-set is given as the visibility callback libxml2 offers,
//! which reads the first, ABI-stable fields of libxml2's node structs.
#![no_main]

use std::ffi::{c_char, c_int, c_void};
use std::sync::Once;

use libfuzzer_sys::fuzz_target;
use palisade_saml::c14n::{C14nOptions, canonicalize};
use palisade_saml::xml::{Document, Element, Limits};

/// The leading fields shared by libxml2's `xmlNode`, `xmlAttr` and `xmlDoc` (libxml2 ≥ 2.0).
#[repr(C)]
struct RawNode {
    _private: *mut c_void,
    kind: c_int,
    name: *const u8,
    children: *mut RawNode,
    last: *mut RawNode,
    parent: *mut RawNode,
    next: *mut RawNode,
}

const XML_ELEMENT_NODE: c_int = 1;
const XML_NAMESPACE_DECL: c_int = 18;
const XML_C14N_EXCLUSIVE_1_0: c_int = 1;
const XML_PARSE_NOERROR: c_int = 1 << 5;
const XML_PARSE_NOWARNING: c_int = 1 << 6;
const XML_PARSE_NONET: c_int = 1 << 11;

type Visible = unsafe extern "C" fn(*mut c_void, *mut c_void, *mut c_void) -> c_int;

#[link(name = "xml2")]
unsafe extern "C" {
    fn xmlInitParser();
    fn xmlReadMemory(
        buffer: *const c_char,
        size: c_int,
        url: *const c_char,
        encoding: *const c_char,
        options: c_int,
    ) -> *mut RawNode;
    fn xmlFreeDoc(doc: *mut RawNode);
    fn xmlParseURI(uri: *const c_char) -> *mut c_void;
    fn xmlFreeURI(uri: *mut c_void);
    fn xmlDocGetRootElement(doc: *const RawNode) -> *mut RawNode;
    fn xmlAllocOutputBuffer(encoder: *mut c_void) -> *mut c_void;
    fn xmlOutputBufferGetContent(out: *mut c_void) -> *const u8;
    fn xmlOutputBufferGetSize(out: *mut c_void) -> usize;
    fn xmlOutputBufferClose(out: *mut c_void) -> c_int;
    fn xmlC14NExecute(
        doc: *mut RawNode,
        is_visible: Option<Visible>,
        user_data: *mut c_void,
        mode: c_int,
        inclusive_ns_prefixes: *mut *mut u8,
        with_comments: c_int,
        buf: *mut c_void,
    ) -> c_int;
}

/// The node-set: the apex's subtree minus the excluded subtree.
struct Selection {
    apex: *mut RawNode,
    exclude: *mut RawNode,
}

/// libxml2's visibility callback. `node` is an `xmlNode`/`xmlAttr`, or an `xmlNs` (then `parent`
/// is its element); both keep their type at the same offset.
unsafe extern "C" fn visible(user: *mut c_void, node: *mut c_void, parent: *mut c_void) -> c_int {
    // SAFETY: libxml2 passes back our `Selection` and live nodes of the document being
    // canonicalized; only the leading fields of `RawNode` are read.
    unsafe {
        let sel = &*(user as *const Selection);
        let kind = (*(node as *const RawNode)).kind;
        let mut cur = if kind == XML_NAMESPACE_DECL { parent as *mut RawNode } else { node as *mut RawNode };
        while !cur.is_null() {
            if cur == sel.exclude {
                return 0;
            }
            if cur == sel.apex {
                return 1;
            }
            cur = (*cur).parent;
        }
        0
    }
}

/// Elements of a libxml2 tree in document order (pre-order).
unsafe fn lx_elements(root: *mut RawNode, out: &mut Vec<*mut RawNode>) {
    // SAFETY: walks a live tree through its `children`/`next` links.
    unsafe {
        out.push(root);
        let mut c = (*root).children;
        while !c.is_null() {
            if (*c).kind == XML_ELEMENT_NODE {
                lx_elements(c, out);
            }
            c = (*c).next;
        }
    }
}

/// libxml2's element count and canonical form; `None` when libxml2 refuses the document.
fn libxml2_c14n(
    xml: &[u8],
    apex: usize,
    exclude: Option<usize>,
    prefixes: &[&str],
    with_comments: bool,
) -> Option<(usize, Option<Vec<u8>>)> {
    static INIT: Once = Once::new();
    // SAFETY: plain libxml2 calls on buffers we own; every allocation is freed below.
    unsafe {
        INIT.call_once(|| xmlInitParser());
        let len = c_int::try_from(xml.len()).ok()?;
        let doc = xmlReadMemory(
            xml.as_ptr().cast(),
            len,
            std::ptr::null(),
            std::ptr::null(),
            XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING,
        );
        if doc.is_null() {
            return None;
        }
        let root = xmlDocGetRootElement(doc);
        let mut elements = Vec::new();
        if !root.is_null() {
            lx_elements(root, &mut elements);
        }
        let result = (|| {
            let apex_ptr = *elements.get(apex)?;
            let exclude_ptr = match exclude {
                Some(i) => *elements.get(i)?,
                None => std::ptr::null_mut(),
            };
            let mut sel = Selection { apex: apex_ptr, exclude: exclude_ptr };
            let mut owned: Vec<Vec<u8>> = prefixes.iter().map(|p| format!("{p}\0").into_bytes()).collect();
            let mut list: Vec<*mut u8> = owned.iter_mut().map(|p| p.as_mut_ptr()).collect();
            list.push(std::ptr::null_mut());
            let buf = xmlAllocOutputBuffer(std::ptr::null_mut());
            if buf.is_null() {
                return None;
            }
            let rc = xmlC14NExecute(
                doc,
                Some(visible),
                (&mut sel as *mut Selection).cast(),
                XML_C14N_EXCLUSIVE_1_0,
                if prefixes.is_empty() { std::ptr::null_mut() } else { list.as_mut_ptr() },
                c_int::from(with_comments),
                buf,
            );
            let out = if rc < 0 {
                None
            } else {
                let p = xmlOutputBufferGetContent(buf);
                let n = xmlOutputBufferGetSize(buf);
                Some(if p.is_null() { Vec::new() } else { std::slice::from_raw_parts(p, n).to_vec() })
            };
            xmlOutputBufferClose(buf);
            out
        })();
        let count = elements.len();
        xmlFreeDoc(doc);
        Some((count, result))
    }
}

/// Whether libxml2's C14N takes `uri` as a namespace name: its URI parser (`xmlParseURI`, the one
/// C14N uses) accepts it and it is absolute (the parsed `xmlURI` has a scheme, its first field).
fn libxml2_c14n_accepts_ns(uri: &str) -> bool {
    let Ok(c) = std::ffi::CString::new(uri) else { return false };
    // SAFETY: a NUL-terminated string in, an owned `xmlURI` out, freed here.
    unsafe {
        let parsed = xmlParseURI(c.as_ptr());
        if parsed.is_null() {
            return false;
        }
        let scheme = *(parsed as *const *const c_char);
        xmlFreeURI(parsed);
        !scheme.is_null()
    }
}

const PREFIX_SETS: [&[&str]; 4] = [&[], &["#default"], &["xs"], &["#default", "xs", "p"]];

fuzz_target!(|data: &[u8]| {
    let [flags, apex_sel, exclude_sel, xml @ ..] = data else { return };
    let Ok(doc) = Document::parse_bytes(xml, &Limits::default()) else { return };
    let root = doc.root();
    let elements: Vec<Element<'_>> = std::iter::once(root).chain(root.descendants()).collect();
    let apex = usize::from(*apex_sel) % elements.len();
    let subtree = elements[apex].descendants().len();
    let exclude = (flags & 8 != 0 && subtree > 0).then(|| apex + 1 + usize::from(*exclude_sel) % subtree);
    let with_comments = flags & 1 != 0;
    let prefixes = PREFIX_SETS[usize::from((flags >> 1) & 3)];
    let opts = C14nOptions {
        with_comments,
        inclusive_prefixes: prefixes.iter().map(|p| (*p).to_owned()).collect(),
        exclude: exclude.map(|i| elements[i].node_id()),
    };
    let ours = canonicalize(elements[apex], &opts);
    let Some((count, theirs)) = libxml2_c14n(xml, apex, exclude, prefixes, with_comments) else { return };
    // Both readers accepted: they must see the same elements (the indices name the same ones).
    assert_eq!(count, elements.len(), "palisade and libxml2 see a different number of elements");
    // libxml2 refuses to canonicalize a document with a relative namespace URI (C14N 1.0 makes
    // that an error) or one its URI parser rejects (`xmlParseURI`); palisade canonicalizes namespace
    // names as the opaque strings XML Namespaces says they are. A documented difference.
    if theirs.is_none()
        && elements
            .iter()
            .any(|e| e.ns_decls().iter().any(|d| !d.uri.is_empty() && !libxml2_c14n_accepts_ns(&d.uri)))
    {
        return;
    }
    let theirs = theirs.expect("libxml2 c14n failed on a document it parsed");
    if ours.as_bytes() != theirs {
        panic!(
            "c14n differs (apex {apex}, exclude {exclude:?}, prefixes {prefixes:?}, comments {with_comments})\n palisade: {ours}\n libxml2:  {}",
            String::from_utf8_lossy(&theirs)
        );
    }
});
