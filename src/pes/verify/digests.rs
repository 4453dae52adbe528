//! The digests a verification computes: of each target element's canonical forms (exclusive
//! and, when needed, inclusive C14N, in SHA-256 and, when needed, SHA-1) and of the elements
//! inside a signature. Shared by the reading pass, which computes them, and the signature check,
//! which compares them with what the references say.

use crate::pes::hashing::{DoneLater, Target};
use crate::pes::xades::EXC_C14N;
use crate::xml::{C14nError, C14nMode, Canonicalizer, Progress, StartTag};
use quick_xml::events::Event;
use std::collections::HashMap;
use std::io::Write;

/// A target's digests, once the hashing thread has them.
pub(super) type DigestsLater = DoneLater<Digests>;

pub(super) const INCLUSIVE_C14N: &str = "http://www.w3.org/TR/2001/REC-xml-c14n-20010315";

/// SHA-256 and, when some signature may use it, SHA-1 of the same bytes.
pub(super) struct MultiHash {
    sha1: Option<openssl::sha::Sha1>,
    sha256: openssl::sha::Sha256,
}

impl Default for MultiHash {
    fn default() -> Self {
        MultiHash::new(true)
    }
}

impl MultiHash {
    pub(super) fn new(with_sha1: bool) -> Self {
        MultiHash {
            sha1: with_sha1.then(openssl::sha::Sha1::new),
            sha256: openssl::sha::Sha256::new(),
        }
    }

    /// The digests by algorithm URI.
    fn finish(self, c14n: &'static str, map: &mut HashMap<(&'static str, &'static str), Vec<u8>>) {
        if let Some(sha1) = self.sha1 {
            map.insert((c14n, SHA1), sha1.finish().to_vec());
        }
        map.insert((c14n, SHA256), self.sha256.finish().to_vec());
    }
}

impl Write for MultiHash {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if let Some(sha1) = self.sha1.as_mut() {
            sha1.update(buf);
        }
        self.sha256.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Digests of one element's canonical forms, by (c14n algorithm, digest algorithm) URIs.
#[derive(Debug, Clone, Default)]
pub(super) struct Digests(pub(super) HashMap<(&'static str, &'static str), Vec<u8>>);

impl Digests {
    fn from_hashes(exc: MultiHash, inc: MultiHash) -> Self {
        let mut map = HashMap::new();
        exc.finish(EXC_C14N, &mut map);
        inc.finish(INCLUSIVE_C14N, &mut map);
        Digests(map)
    }

    pub(super) fn from_bytes(exc: &[u8], inc: &[u8]) -> Self {
        let mut e = MultiHash::default();
        let mut i = MultiHash::default();
        let _ = e.write(exc);
        let _ = i.write(inc);
        Self::from_hashes(e, i)
    }
}

pub(super) const SHA1: &str = "http://www.w3.org/2000/09/xmldsig#sha1";
pub(super) const SHA256: &str = "http://www.w3.org/2001/04/xmlenc#sha256";

pub(super) fn exclusive() -> C14nMode {
    C14nMode::Exclusive {
        with_comments: false,
        inclusive_prefixes: Vec::new(),
    }
}

pub(super) fn inclusive() -> C14nMode {
    C14nMode::Inclusive {
        with_comments: false,
    }
}

/// A pair of canonicalisers (exclusive, inclusive) on the same subtree.
pub(super) struct Pair<W: Write> {
    pub(super) exc: Canonicalizer<W>,
    pub(super) inc: Canonicalizer<W>,
}

impl<W: Write> Pair<W> {
    pub(super) fn feed(
        &mut self,
        event: &Event,
        tag: Option<&StartTag>,
    ) -> Result<bool, C14nError> {
        let a = self.exc.feed_parsed(event, tag)?;
        let b = self.inc.feed_parsed(event, tag)?;
        Ok(a == Progress::Done && b == Progress::Done)
    }
}

/// A target element's canonicalisers: exclusive always, inclusive only when some signature of
/// the file uses inclusive canonicalisation.
pub(super) struct TargetHash {
    pub(super) exc: Canonicalizer<MultiHash>,
    pub(super) inc: Option<Canonicalizer<MultiHash>>,
}

impl Target for TargetHash {
    type Done = Digests;

    fn feed(&mut self, event: &Event, tag: Option<&StartTag>) -> Result<(), C14nError> {
        self.exc.feed_parsed(event, tag)?;
        if let Some(inc) = self.inc.as_mut() {
            inc.feed_parsed(event, tag)?;
        }
        Ok(())
    }

    fn finish(self) -> Result<Digests, C14nError> {
        let mut map = HashMap::new();
        self.exc.finish()?.finish(EXC_C14N, &mut map);
        if let Some(inc) = self.inc {
            inc.finish()?.finish(INCLUSIVE_C14N, &mut map);
        }
        Ok(Digests(map))
    }
}
