//! Checking the signatures of a bid's documents and their timestamps, as the buyer must
//! (arrêtés du 22 mars 2019): who signed, with what category of certificate, whether the document
//! is intact, whether the certificate was valid when signing and chains to a trusted authority.
//!
//! - CAdES / CMS SignedData, detached (`offre.pdf.p7s` beside `offre.pdf`) or enveloping;
//! - PAdES: the CMS signatures inside a PDF, over their byte ranges;
//! - RFC 3161 timestamp tokens (`.tsr` replies or `.tst` tokens) over a document, and the
//!   signature timestamps inside CAdES signatures (CAdES-T);
//! - XAdES detached signatures (`offre.pdf.xml`), through the PES verifier's XML signature code.
//!
//! The CMS structures are small (the document is hashed as a stream beside them) and read with
//! our DER reader; the cryptography is OpenSSL's. Revocation (CRL, OCSP) is not checked: the
//! report says so.
//!
//! The code is split by what it does, each part using only those listed before it:
//! - `documents`: finding the document a detached signature is about;
//! - `verdict`: the report, the errors, and the judgement of a signer's certificate;
//! - `cms`: reading signature files and CMS structures;
//! - `signers`: checking the signers of a SignedData (CAdES, timestamp tokens);
//! - `pades`: the signatures inside a PDF.
//!
//! XAdES is in `super::xades`, and which signatures a path holds in `super::discover`: both use
//! what is re-exported here.

mod cms;
mod documents;
mod pades;
mod signers;
mod verdict;

pub(super) use cms::{SIGNATURE_FILE_LIMIT, cms_document_digests, read_bounded, read_cms_file};
pub use documents::document_for;
pub(super) use documents::{
    DISCOVERY_FILE_LIMIT, DocumentDigest, SEARCH_MAX_FILES, SEARCH_MAX_SIZE, digest_file,
    extension, file_name, files_beside, has_signature_extension, is_xml_signature, locate_document,
    named_document,
};
pub(super) use pades::verify_pdf;
pub use pades::verify_pdf_signatures;
pub use signers::verify_detached_bytes;
pub(super) use signers::{Signed, SignerVerdict, verify_signature_file, verify_token};
pub use verdict::{SignatureReport, VerifyError, check_revocation, revocation_verified};
pub(super) use verdict::{blank_report, judge_certificate};
