//! What the card is given: each element to sign, canonicalised and hashed for it on the hashing
//! thread ([`ToSign`], into a [`HashWriter`]), becomes a job for the card's thread ([`SignJob`]).

use super::encoding::Encoding;
use crate::keys::HashAlg;
use crate::messages::t;
use crate::pes::hashing::Target;
use crate::xml::{C14nError, Canonicalizer, Progress, StartTag};
use quick_xml::events::Event;
use std::io::Write;

/// An element to sign, canonicalised and hashed on the hashing thread; once hashed, its
/// signature is asked of the card.
pub(super) struct ToSign {
    pub(super) canon: Canonicalizer<HashWriter>,
    /// The end tag was canonicalised.
    pub(super) complete: bool,
    pub(super) id: String,
    pub(super) encoding: Encoding,
    pub(super) jobs: std::sync::mpsc::Sender<SignJob>,
}

impl Target for ToSign {
    type Done = ();

    fn feed(&mut self, event: &Event<'_>, tag: Option<&StartTag>) -> Result<(), C14nError> {
        self.complete = self.canon.feed_parsed(event, tag)? == Progress::Done;
        Ok(())
    }

    fn finish(self) -> Result<(), C14nError> {
        if !self.complete {
            return Err(C14nError::malformed(t("signature.canonisation_incomplete")));
        }
        let digest = self.canon.finish()?.finish();
        self.jobs
            .send(SignJob {
                signature_id: format!("{}_SIG_1", self.id),
                id: self.id,
                digest,
                encoding: self.encoding,
            })
            // The card's thread stopped; the signing pass says why.
            .map_err(|_| C14nError::Usage(t("commun.empreintes_interrompues")))
    }
}

/// `Write` into a SHA digest.
pub(super) enum HashWriter {
    Sha1(openssl::sha::Sha1),
    Sha256(openssl::sha::Sha256),
}

impl HashWriter {
    pub(super) fn new(hash: HashAlg) -> Self {
        match hash {
            HashAlg::Sha1 => HashWriter::Sha1(openssl::sha::Sha1::new()),
            _ => HashWriter::Sha256(openssl::sha::Sha256::new()),
        }
    }

    fn finish(self) -> Vec<u8> {
        match self {
            HashWriter::Sha1(h) => h.finish().to_vec(),
            HashWriter::Sha256(h) => h.finish().to_vec(),
        }
    }
}

impl Write for HashWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            HashWriter::Sha1(h) => h.update(buf),
            HashWriter::Sha256(h) => h.update(buf),
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// One signature for the card thread to make.
pub(super) struct SignJob {
    pub(super) id: String,
    pub(super) signature_id: String,
    pub(super) digest: Vec<u8>,
    pub(super) encoding: Encoding,
}
