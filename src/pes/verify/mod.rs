//! Verifying every XAdES signature of a PES_Aller in one streaming pass.
//!
//! While reading, each possible target (the `PES_Aller` root and each `Bordereau` with an `Id`) is
//! canonicalised — exclusive and inclusive, its `ds:Signature` children left out — into SHA-1 and
//! SHA-256 hashers at once, because the signature that says which is needed comes at the element's
//! end. Each `ds:Signature` is small: it is kept (in canonical form) and checked when its target
//! closes: reference digests, signature value, SignedProperties (embedded certificate digest,
//! known policy and its hash, signing time), and the certificate's chain to the trust store at
//! signing time.
//!
//! Three threads share the work: the reading pass (decoding, parsing and checking every event,
//! keeping the signatures), the hashing of the targets ([`super::hashing`]) and the checking of
//! each signature once its target's digests are in; the file itself is read by a fourth.
//!
//! The code is split by what it does, each part using only those listed before it:
//! - `verdict`: what a verification hands back (and the revocation check that amends it);
//! - `digests`: the digests of canonical forms, shared by the pass and the check;
//! - `policy`: the known Hélios policies;
//! - here: the rest, still to be split.

mod digests;
mod policy;
mod verdict;

pub use policy::{PolicyProblem, check_policy};
pub use verdict::{FileVerdict, SignatureVerdict, VerifyError, check_revocation};

use super::hashing::{NotFed, TargetHasher};
use super::xades::{EXC_C14N, NS_DS};
use crate::certs::revocation::RevocationSubject;
use crate::certs::trust::TrustStore;
use crate::keys::digest::ecdsa_raw_to_der;
use crate::messages::{t, tf};
use crate::xml::{C14nError, Canonicalizer, XmlReader};
use digests::{
    Digests, DigestsLater, INCLUSIVE_C14N, MultiHash, Pair, SHA1, SHA256, TargetHash, exclusive,
    inclusive,
};
use openssl::hash::MessageDigest;
use openssl::x509::X509;
use quick_xml::events::Event;
use std::collections::HashMap;
use std::io::BufReader;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

/// What a quick byte scan of the file says the verification will need: the Ids that signatures
/// reference, and whether any uses inclusive canonicalisation. Canonicalising only those targets
/// (instead of every element with an Id, in both modes) is what keeps verification fast.
#[derive(Debug, Default)]
pub struct Needs {
    ids: std::collections::HashSet<String>,
    inclusive: bool,
    /// Some signature names SHA-1 (the older Hélios profile).
    sha1: bool,
    /// Start tags named `Signature` (any prefix) in the bytes: never fewer than the document's
    /// signatures (a comment or CDATA section may add false ones, never hide a real one).
    signatures: usize,
    /// The qualified name of the end tag the file finishes with (whitespace aside), if it does.
    last_end_tag: Option<String>,
    /// Start tags named `Bordereau` (any prefix) in the bytes: never fewer than the document's.
    bordereaux: usize,
    /// Every `Id="…"` attribute of the bytes (and anything in text or comments that looks like
    /// one), when all could be read plainly; None when some could not (a reference in the value,
    /// a very long value, too many of them): then only a full reading can tell duplicates.
    id_candidates: Option<IdCandidates>,
    /// Offset of the first NUL byte.
    first_nul: Option<u64>,
}

/// The values that look like `Id` attributes in the bytes, as seen by the prescan.
#[derive(Debug, Default)]
struct IdCandidates {
    values: std::collections::HashSet<Vec<u8>>,
    /// Some value was seen twice (maybe in text: only a full reading can tell).
    repeated: bool,
}

impl Needs {
    /// Offset of the file's first NUL byte, if it has one (never allowed in XML).
    pub(super) fn first_nul(&self) -> Option<u64> {
        self.first_nul
    }

    /// The file ends with the end tag `root` (as written), whitespace aside.
    pub(super) fn ends_with(&self, root: Option<&str>) -> bool {
        root.is_some() && self.last_end_tag.as_deref() == root
    }

    /// The prescan proves that no `Id` occurs twice in the whole file: a superset of the
    /// document's `Id` attributes was read and has no repetition. Only then may the parts after
    /// the last signature go unread.
    pub(super) fn ids_unique_for_sure(&self) -> bool {
        self.id_candidates.as_ref().is_some_and(|c| !c.repeated)
    }
}

/// Beyond these, an `Id` candidate is not kept and the prescan gives up on proving uniqueness.
const ID_CANDIDATE_MAX_LEN: usize = 200;
const ID_CANDIDATES_MAX: usize = 100_000;
/// Whitespace allowed around the `=` of a candidate before the prescan gives up on it.
const ID_CANDIDATE_MAX_SPACE: usize = 16;

/// What the bytes at `at` (where `Id` was found) are, for the prescan.
#[derive(Debug, PartialEq, Eq)]
enum IdCandidate<'a> {
    /// Not an attribute named `Id` (another name, or no `=`).
    Not,
    /// An `Id` attribute whose value is plain (no reference), ending at `end` (after the quote).
    Value(&'a [u8], usize),
    /// An `Id` attribute that cannot be read plainly: a reference in it, too long, too spaced.
    Unreadable,
    /// It runs past the end of the window.
    Cut,
}

fn is_xml_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// Reads a possible `Id` attribute at `window[at..]`: XML says it is whitespace, `Id`,
/// optional whitespace, `=`, optional whitespace and a quoted value.
fn id_candidate(window: &[u8], at: usize) -> IdCandidate<'_> {
    if at == 0 || !is_xml_space(window[at - 1]) {
        return IdCandidate::Not;
    }
    let mut i = at + 2;
    let skip_space = |i: &mut usize| -> Option<()> {
        let start = *i;
        while *i < window.len() && is_xml_space(window[*i]) {
            *i += 1;
            if *i - start > ID_CANDIDATE_MAX_SPACE {
                return None;
            }
        }
        Some(())
    };
    if skip_space(&mut i).is_none() {
        return IdCandidate::Unreadable;
    }
    match window.get(i) {
        None => return IdCandidate::Cut,
        Some(b'=') => i += 1,
        Some(_) => return IdCandidate::Not,
    }
    if skip_space(&mut i).is_none() {
        return IdCandidate::Unreadable;
    }
    let quote = match window.get(i) {
        None => return IdCandidate::Cut,
        Some(&q @ (b'"' | b'\'')) => q,
        Some(_) => return IdCandidate::Not,
    };
    let value_start = i + 1;
    let limit = window.len().min(value_start + ID_CANDIDATE_MAX_LEN + 1);
    match window[value_start..limit].iter().position(|b| *b == quote) {
        Some(len) => {
            let value = &window[value_start..value_start + len];
            if value.contains(&b'&') {
                IdCandidate::Unreadable
            } else {
                IdCandidate::Value(value, value_start + len + 1)
            }
        }
        None if limit == window.len() => IdCandidate::Cut,
        None => IdCandidate::Unreadable,
    }
}

/// Whether `window[at..]`, where `Signature` was found, is the name of a start tag: `<Signature`
/// or `<prefix:Signature`, followed by a space, `>` or `/`.
fn is_signature_start_tag(window: &[u8], at: usize) -> bool {
    is_start_tag_named(window, at, "Signature")
}

/// Whether `window[at..]`, where `name` was found, is the name of a start tag: `<name` or
/// `<prefix:name`, followed by a space, `>` or `/`.
fn is_start_tag_named(window: &[u8], at: usize, name: &str) -> bool {
    let after = window.get(at + name.len()).copied();
    if !matches!(after, Some(b' ' | b'\t' | b'\r' | b'\n' | b'>' | b'/')) {
        return false;
    }
    let before = &window[..at];
    match before.last() {
        Some(b'<') => true,
        Some(b':') => {
            // A prefix of name characters back to the '<' (and not "</").
            let prefix_start = before[..before.len() - 1]
                .iter()
                .rposition(|b| !(b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.')));
            prefix_start.is_some_and(|i| before[i] == b'<' && i + 1 < before.len() - 1)
        }
        _ => false,
    }
}

/// The qualified name of the end tag `tail` finishes with, whitespace aside.
fn trailing_end_tag(tail: &[u8]) -> Option<String> {
    let end = tail.iter().rposition(|b| !b.is_ascii_whitespace())?;
    if tail[end] != b'>' {
        return None;
    }
    let open = tail[..end].iter().rposition(|b| *b == b'<')?;
    let inner = tail.get(open + 1..end)?;
    let name = inner.strip_prefix(b"/")?;
    let name = std::str::from_utf8(name).ok()?.trim_end();
    (!name.is_empty() && !name.contains(|c: char| c.is_whitespace() || c == '<'))
        .then(|| name.to_owned())
}

/// Scan the file's bytes for `URI="#…"` references and for the inclusive C14N algorithm URI.
/// A large file is scanned in two halves on two threads (the scan is mostly the copy of the
/// bytes out of the page cache).
pub fn prescan(path: &Path) -> std::io::Result<Needs> {
    let len = crate::files::open_regular(path)?.metadata()?.len();
    if len < PRESCAN_SPLIT {
        return scan_range(path, 0, len, 0, &AtomicBool::new(false));
    }
    let middle = len / 2;
    // A NUL byte found by either half ends both: the file is not XML.
    let nul_found = AtomicBool::new(false);
    let (first, second) = std::thread::scope(|threads| {
        let second = threads.spawn(|| {
            scan_range(
                path,
                middle.saturating_sub(OVERLAP as u64),
                len,
                middle,
                &nul_found,
            )
        });
        let first = scan_range(path, 0, middle, 0, &nul_found);
        let second = crate::chunks::read_outcome(second.join());
        (first, second)
    });
    let (mut needs, second) = (first?, second?);
    needs.ids.extend(second.ids);
    needs.inclusive |= second.inclusive;
    needs.sha1 |= second.sha1;
    needs.signatures += second.signatures;
    needs.bordereaux += second.bordereaux;
    needs.first_nul = needs.first_nul.or(second.first_nul);
    needs.last_end_tag = second.last_end_tag;
    needs.id_candidates = match (needs.id_candidates, second.id_candidates) {
        (Some(mut a), Some(b)) => {
            a.repeated |= b.repeated;
            for value in b.values {
                if !a.values.insert(value) {
                    a.repeated = true;
                }
            }
            (a.values.len() <= ID_CANDIDATES_MAX).then_some(a)
        }
        _ => None,
    };
    Ok(needs)
}

/// From this size, the prescan is split in two.
const PRESCAN_SPLIT: u64 = 8 << 20;
/// Bytes read twice where blocks meet, so that a pattern across the boundary is still seen.
const OVERLAP: usize = 512;

/// The prescan of bytes `[start, end)` of the file. A `Signature` start tag is counted only when
/// the byte after its name is at or after `counted_from` (the part before is another scan's),
/// and `last_end_tag` is that of the range's end.
/// A NUL byte ends the scan (and, through `nul_found`, the other half's): the file is refused
/// whatever else it holds, and a 2 GB file of zeros is not read to its end.
fn scan_range(
    path: &Path,
    start: u64,
    end: u64,
    counted_from: u64,
    nul_found: &AtomicBool,
) -> std::io::Result<Needs> {
    use std::io::{Read, Seek};
    let mut file = crate::files::open_regular(path)?;
    let file_len = file.metadata()?.len();
    file.seek(std::io::SeekFrom::Start(start))?;
    let mut file = file.take(end - start);
    let mut needs = Needs::default();
    let uri = memchr::memmem::Finder::new(b"URI=");
    let inclusive = memchr::memmem::Finder::new(INCLUSIVE_C14N.as_bytes());
    let sha1 = memchr::memmem::Finder::new(SHA1.as_bytes());
    let signature = memchr::memmem::Finder::new(b"Signature");
    let bordereau = memchr::memmem::Finder::new(b"Bordereau");
    let id_name = memchr::memmem::Finder::new(b"Id");
    let mut candidates = Some(IdCandidates::default());
    const BLOCK: usize = 1 << 20;
    let mut buf = vec![0u8; BLOCK + OVERLAP];
    let mut kept = 0;
    // Offset in the file of buf[0].
    let mut at_file = start;
    loop {
        let n = file.read(&mut buf[kept..])?;
        if n == 0 {
            break;
        }
        let window = &buf[..kept + n];
        if let Some(at) = memchr::memchr(0, &window[kept..]) {
            needs.first_nul = Some(at_file + (kept + at) as u64);
            nul_found.store(true, Ordering::Relaxed);
            break;
        }
        if nul_found.load(Ordering::Relaxed) {
            break;
        }
        if inclusive.find(window).is_some() {
            needs.inclusive = true;
        }
        if !needs.sha1 && sha1.find(window).is_some() {
            needs.sha1 = true;
        }
        // Counted where the byte after the name is (it tells a start tag), when it is among the
        // new bytes: a match is counted in exactly one window, even one that ends right before
        // that byte.
        needs.signatures += signature
            .find_iter(window)
            .filter(|at| {
                let after = at + "Signature".len();
                after >= kept
                    && after < window.len()
                    && at_file + after as u64 >= counted_from
                    && is_signature_start_tag(window, *at)
            })
            .count();
        needs.bordereaux += bordereau
            .find_iter(window)
            .filter(|at| {
                let after = at + "Bordereau".len();
                after >= kept
                    && after < window.len()
                    && at_file + after as u64 >= counted_from
                    && is_start_tag_named(window, *at, "Bordereau")
            })
            .count();
        if let Some(found) = candidates.as_mut() {
            let range_ends_here = at_file + window.len() as u64 == end;
            let file_ends_here = range_ends_here && end == file_len;
            if !note_id_candidates(
                found,
                window,
                kept,
                &id_name,
                |end| at_file + end as u64 > counted_from,
                file_ends_here,
            ) {
                candidates = None;
            }
        }
        for at in uri.find_iter(window) {
            let rest = &window[at + 4..];
            let (Some(&quote), Some(&b'#')) = (rest.first(), rest.get(1)) else {
                continue;
            };
            if quote != b'"' && quote != b'\'' {
                continue;
            }
            if let Some(end) = rest[2..].iter().position(|b| *b == quote) {
                needs
                    .ids
                    .insert(String::from_utf8_lossy(&rest[2..2 + end]).into_owned());
            }
        }
        let len = kept + n;
        kept = len.min(OVERLAP);
        buf.copy_within(len - kept..len, 0);
        at_file += (len - kept) as u64;
    }
    // The range's last bytes are what the loop kept.
    needs.last_end_tag = trailing_end_tag(&buf[..kept]);
    needs.id_candidates = candidates;
    Ok(needs)
}

/// Notes the `Id` candidates of one window of the prescan; false when uniqueness can no longer be
/// proved this way. A candidate is noted in the window where its closing quote is among the new
/// bytes (at or after `kept`) and `counted(end)` says the range owns it: each once. One cut by
/// the window's end is seen whole by the next window (candidates are shorter than the overlap),
/// or by the other half of the file; at the file's very end it is malformed XML, left to the
/// full reading.
fn note_id_candidates(
    found: &mut IdCandidates,
    window: &[u8],
    kept: usize,
    finder: &memchr::memmem::Finder,
    counted: impl Fn(usize) -> bool,
    file_ends_here: bool,
) -> bool {
    for at in finder.find_iter(window) {
        match id_candidate(window, at) {
            IdCandidate::Not => {}
            IdCandidate::Unreadable => return false,
            IdCandidate::Cut if file_ends_here => return false,
            IdCandidate::Cut => {}
            IdCandidate::Value(value, end) => {
                if end > kept && counted(end) {
                    if !found.values.insert(value.to_vec()) {
                        found.repeated = true;
                    }
                    if found.values.len() > ID_CANDIDATES_MAX {
                        return false;
                    }
                }
            }
        }
    }
    true
}

/// Whether the prescan says every signature has been met (`seen`) and the file ends with the
/// root's end tag (`root`, as written): then nothing after this point needs reading.
fn nothing_left_to_verify(needs: &Needs, seen: usize, root: Option<&str>) -> bool {
    seen > 0 && seen == needs.signatures && root.is_some() && needs.last_end_tag.as_deref() == root
}

/// Where an element stands in a PES_Aller, as far as signatures are concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    /// The document's root `PES_Aller`: a global signature's parent.
    Root,
    /// `PES_DepenseAller` or `PES_RecetteAller` under the root.
    Domain,
    /// A `Bordereau` of a domain: where a bordereau signature stands.
    Bordereau,
    /// Anywhere else (an unknown element, `Enveloppe`, a PJ, a bordereau nested elsewhere…).
    Other,
}

impl Place {
    /// The place of an element named `local`, child of an element at `parent` (None: the root).
    fn of(local: &str, parent: Option<Place>) -> Place {
        match (parent, local) {
            (None, "PES_Aller") => Place::Root,
            (Some(Place::Root), "PES_DepenseAller" | "PES_RecetteAller") => Place::Domain,
            (Some(Place::Domain), "Bordereau") => Place::Bordereau,
            _ => Place::Other,
        }
    }
}

/// An open element of the document.
struct Frame {
    id: Option<String>,
    /// The element is a target, hashed by the [`TargetHasher`].
    hashed: bool,
    place: Place,
    /// Its local name is `Bordereau` (wherever it stands).
    named_bordereau: bool,
}

/// Every `Id` of the document, to find those used twice (a signature's reference would then be
/// ambiguous: the wrapping attacks rely on it). Kept as 128 bits of their SHA-256, so that memory
/// does not follow the values' lengths.
#[derive(Default)]
pub(super) struct IdRegister {
    seen: std::collections::HashSet<[u8; 16]>,
    /// Ids met twice (the first few, for the report).
    repeated: Vec<String>,
    /// More Ids than [`MAX_IDS`]: the file is refused.
    too_many: bool,
}

/// Beyond this many `Id`s a file is refused (a PES has a handful per bordereau).
pub(super) const MAX_IDS: usize = 1_000_000;
/// Repeated Ids named in the report, at most.
const REPEATED_IDS_REPORTED: usize = 20;

impl IdRegister {
    /// The first Id met twice, if any.
    pub(super) fn first_repeated(&self) -> Option<&str> {
        self.repeated.first().map(String::as_str)
    }

    /// More Ids than are kept: uniqueness could not be checked.
    pub(super) fn too_many(&self) -> bool {
        self.too_many
    }

    pub(super) fn note(&mut self, id: &str) {
        if self.too_many {
            return;
        }
        let digest = openssl::sha::sha256(id.as_bytes());
        let mut key = [0u8; 16];
        key.copy_from_slice(&digest[..16]);
        if !self.seen.insert(key) {
            if self.repeated.len() < REPEATED_IDS_REPORTED && !self.repeated.iter().any(|r| r == id)
            {
                self.repeated.push(id.to_owned());
            }
        } else if self.seen.len() > MAX_IDS {
            self.too_many = true;
            self.seen = Default::default();
        }
    }
}

/// What the reading learnt of the document as a whole, beside its signatures.
#[derive(Default)]
struct DocumentFacts {
    ids: IdRegister,
    /// Bordereaux (of a domain) with no signature of their own: their Ids, or their rank.
    unsigned_bordereaux: Vec<String>,
    /// Some signature stands on the root (a global signature).
    root_signed: bool,
    /// Bordereaux (of a domain) met.
    bordereaux: usize,
}

/// Unsigned bordereaux named in the report, at most.
const UNSIGNED_REPORTED: usize = 1_000;

impl DocumentFacts {
    /// The bordereau just met (the last counted) has no signature of its own.
    fn note_unsigned(&mut self, id: Option<&str>) {
        if self.unsigned_bordereaux.len() < UNSIGNED_REPORTED {
            let label = bordereau_label(id, self.bordereaux);
            self.unsigned_bordereaux.push(label);
        }
    }
}

/// A signature being read.
struct Capture {
    id: Option<String>,
    /// Index in the frame stack of the element containing the signature.
    parent: usize,
    depth: usize,
    full: Canonicalizer<Vec<u8>>,
    signed_info: Option<Pair<Vec<u8>>>,
    signed_info_done: Option<(Vec<u8>, Vec<u8>)>,
    /// Elements with an Id inside the signature (SignedProperties).
    inner: Vec<(String, Pair<Vec<u8>>)>,
    inner_done: HashMap<String, Digests>,
    /// Two elements inside the signature have the same Id.
    inner_repeated: bool,
}

/// A signature read, waiting for its target's digests.
struct Pending {
    id: Option<String>,
    parent: usize,
    full: Vec<u8>,
    signed_info: (Vec<u8>, Vec<u8>),
    inner: HashMap<String, Digests>,
    inner_repeated: bool,
}

/// The element a group of signatures stands in.
struct Parent {
    id: Option<String>,
    place: Place,
}

/// Verify every signature of the file.
pub fn verify_file(path: &Path, trust: Option<&TrustStore>) -> Result<FileVerdict, VerifyError> {
    let read_error =
        |e: std::io::Error| VerifyError::Read(path.display().to_string(), e.to_string());
    // A PDF, an ACTES message, a PES_Retour… is said to be one, before its bytes are judged
    // as a PES's.
    if let Some(nature) = super::not_a_pes_aller(&super::file_head(path).map_err(read_error)?) {
        return Err(VerifyError::NotPesAller(nature));
    }
    let needs = prescan(path).map_err(read_error)?;
    // XML forbids NUL: such a file is refused whatever its signatures (the prescan stopped
    // there, and a verdict must not rest on counts it did not finish).
    if let Some(offset) = needs.first_nul() {
        return Err(VerifyError::Nul(offset));
    }
    let file = crate::files::open_regular(path).map_err(read_error)?;
    // The file is read on a thread of its own: its system calls are off the reading pass,
    // which is the longest of the threads.
    std::thread::scope(|threads| {
        let (to_pass, chunks) = std::sync::mpsc::sync_channel(READ_AHEAD_CHUNKS);
        let reading = threads.spawn(move || crate::chunks::share_chunks(file, vec![to_pass]));
        let verdict = verify_reader(
            crate::chunks::ReceivedChunks::new(chunks),
            trust,
            Some(&needs),
        );
        let read = crate::chunks::read_outcome(reading.join());
        // A read error comes first: it is why the document looked cut short.
        read.map_err(read_error)?;
        verdict
    })
}

/// Chunks read ahead of the verifying pass (1 MiB each).
const READ_AHEAD_CHUNKS: usize = 2;

/// What a signature must have beyond integrity, and where its external references are.
#[derive(Debug, Clone, Copy)]
pub struct Checks<'a> {
    /// A known Hélios signature policy is required (PES); otherwise a policy is optional
    /// (XAdES-BES, as in public procurement).
    pub helios_policy: bool,
    /// The folder that external references (`URI="offre.pdf"`) are files of; None refuses them.
    pub external_base: Option<&'a Path>,
}

impl Checks<'_> {
    /// A PES: same-document references only, Hélios policy required.
    pub const HELIOS: Checks<'static> = Checks {
        helios_policy: true,
        external_base: None,
    };
}

/// Verify a document read from `input`; `needs` (from [`prescan`]) limits the work to what the
/// signatures reference, `None` canonicalises every candidate in both modes.
pub fn verify_reader<R: std::io::Read>(
    input: R,
    trust: Option<&TrustStore>,
    needs: Option<&Needs>,
) -> Result<FileVerdict, VerifyError> {
    verify_reader_with(input, trust, needs, Checks::HELIOS)
}

/// Verify a detached XAdES signature file (a `ds:Signature` whose references name files beside
/// it, e.g. a bid's `offre.pdf.xml`): integrity of every file and of the signed properties,
/// signature value, signing certificate, chain; a signature policy is optional.
pub fn verify_detached(
    path: &Path,
    trust: Option<&TrustStore>,
) -> Result<FileVerdict, VerifyError> {
    let read_error =
        |e: std::io::Error| VerifyError::Read(path.display().to_string(), e.to_string());
    let file = crate::files::open_regular(path).map_err(read_error)?;
    let base = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    verify_reader_with(
        BufReader::new(file),
        trust,
        None,
        Checks {
            helios_policy: false,
            external_base: Some(base),
        },
    )
}

/// The digest of a file named by an external reference: a plain file name (percent-encoded as in
/// a URI) in `base`, nothing that leaves it.
fn external_digest(base: &Path, uri: &str, md: MessageDigest) -> Option<Vec<u8>> {
    let mut name = Vec::with_capacity(uri.len());
    let bytes = uri.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok()?;
            name.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            name.push(bytes[i]);
            i += 1;
        }
    }
    let name = String::from_utf8(name).ok()?;
    if name.is_empty() || name.starts_with('.') || name.contains(['/', '\\', ':']) {
        return None;
    }
    let mut file = crate::files::open_regular(&base.join(name)).ok()?;
    let mut hasher = openssl::hash::Hasher::new(md).ok()?;
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = std::io::Read::read(&mut file, &mut buf).ok()?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]).ok()?;
    }
    hasher.finish().ok().map(|d| d.to_vec())
}

fn verify_reader_with<R: std::io::Read>(
    input: R,
    trust: Option<&TrustStore>,
    needs: Option<&Needs>,
    checks: Checks,
) -> Result<FileVerdict, VerifyError> {
    // Each signature read is checked (value, certificate, chain, policy) on another thread
    // while this one reads on: with one signature per bordereau, checking is a tenth of the work.
    let (to_check, signatures) = std::sync::mpsc::channel::<ToCheck>();
    std::thread::scope(|threads| {
        let checker = threads.spawn(move || {
            let mut verdicts = Vec::new();
            for (group, parent, later) in signatures {
                // None when hashing failed: the reading reports why.
                let digests = later.and_then(|l| l.recv().ok());
                verdicts.extend(
                    group
                        .iter()
                        .map(|p| check_signature(p, &parent, digests.as_ref(), trust, checks)),
                );
            }
            verdicts
        });
        let read = read_signatures(input, needs, &to_check);
        // Ends the checker's queue whatever happened.
        drop(to_check);
        let verdicts = checker
            .join()
            .map_err(|_| VerifyError::from(C14nError::Usage(String::new())))?;
        let facts = read?;
        Ok(file_verdict(verdicts, facts, checks))
    })
}

/// The file's verdict: every signature valid, and — for a PES — every Id unique and every
/// bordereau covered by its own signature or by a global one.
fn file_verdict(
    signatures: Vec<SignatureVerdict>,
    facts: DocumentFacts,
    checks: Checks,
) -> FileVerdict {
    let mut erreurs = Vec::new();
    for id in &facts.ids.repeated {
        erreurs.push(tf("pes.id_duplique", &[("id", id)]));
    }
    if facts.ids.too_many {
        erreurs.push(tf(
            "verification.trop_d_identifiants",
            &[("nombre", &MAX_IDS.to_string())],
        ));
    }
    let bordereaux_non_signes = if checks.helios_policy && !facts.root_signed {
        facts.unsigned_bordereaux
    } else {
        Vec::new()
    };
    if checks.helios_policy && signatures.is_empty() {
        // Not valid, and said why (the text output and `--json` alike).
        erreurs.push(t("verification.aucune"));
    }
    if !signatures.is_empty() && !bordereaux_non_signes.is_empty() {
        erreurs.push(tf(
            "verification.bordereaux_non_signes",
            &[("liste", &bordereaux_non_signes.join(", "))],
        ));
    }
    let valide = !signatures.is_empty()
        && signatures.iter().all(|v| v.valide)
        && erreurs.is_empty()
        && bordereaux_non_signes.is_empty();
    FileVerdict {
        valide,
        signatures,
        bordereaux_non_signes,
        identifiants_en_double: facts.ids.repeated,
        erreurs,
        trop_d_identifiants: facts.ids.too_many,
        revocation_verifiee: false,
    }
}

/// Signatures read on one element, the element, and its digests to come (None when the
/// signatures have no target in the document).
type ToCheck = (Vec<Pending>, Parent, Option<DigestsLater>);

/// Reads the document, handing each signature to `to_check` with its target's digests to come;
/// the targets are hashed on a thread of their own ([`TargetHasher`]).
fn read_signatures<R: std::io::Read>(
    input: R,
    needs: Option<&Needs>,
    to_check: &std::sync::mpsc::Sender<ToCheck>,
) -> Result<DocumentFacts, VerifyError> {
    let mut reader = XmlReader::new(input)?;
    std::thread::scope(|threads| {
        let mut hasher = TargetHasher::spawn(threads);
        let mut facts = DocumentFacts::default();
        let read = read_events(&mut reader, needs, to_check, &mut hasher, &mut facts);
        let hashed = hasher.finish();
        // An error of the hashing thread comes first: the reading stopped because of it.
        hashed.map_err(|(at, e)| e.or_at(reader.position_at(at)))?;
        read.map(|()| facts)
    })
}

fn read_events<R: std::io::Read>(
    reader: &mut XmlReader<R>,
    needs: Option<&Needs>,
    to_check: &std::sync::mpsc::Sender<ToCheck>,
    hasher: &mut TargetHasher<TargetHash>,
    facts: &mut DocumentFacts,
) -> Result<(), VerifyError> {
    // SHA-1 only when the prescan saw it named (or without a prescan).
    let hashes = || MultiHash::new(needs.is_none_or(|n| n.sha1));
    let mut frames: Vec<Frame> = Vec::new();
    let mut capture: Option<Capture> = None;
    let mut pending: Vec<Pending> = Vec::new();
    // For stopping early: signatures met and `Bordereau` elements closed so far, and the root's
    // name as written.
    let mut signatures_seen = 0usize;
    let mut bordereaux_closed = 0usize;
    let mut root_qname: Option<String> = None;
    loop {
        let (event, info) = reader.read_event_with_info()?;
        if matches!(event, Event::Eof) {
            break;
        }
        // Located only on error; names, Ids and namespace contexts only for start tags (the
        // only events that look at them).
        let at = || info.position();
        let is_start = matches!(event, Event::Start(_));
        let is_tag = is_start || matches!(event, Event::Empty(_));
        // Borrowed: a start tag costs no allocation unless it is kept (an Id).
        let name = is_tag.then(|| info.element_name()).flatten();
        let id_attribute = is_tag.then(|| info.attribute("Id")).flatten();
        let id = id_attribute.filter(|_| is_start).map(str::to_owned);
        let context = || info.apex_context();
        // The start tag as the reader parsed and checked it, handed to the canonicalisers.
        let tag = info.start_tag();
        if is_tag {
            if let Some(value) = id_attribute {
                facts.ids.note(value);
            }
            if root_qname.is_none() {
                root_qname = tag.map(|t| t.qname().to_owned());
            }
            let local = name.map(|(_, l)| l).unwrap_or("");
            if local == "Bordereau" && !is_start {
                bordereaux_closed += 1;
            }
            if let Some((Some(ns), local)) = name
                && ns == NS_DS
                && local == "Signature"
            {
                signatures_seen += 1;
            }
            // An empty bordereau of a domain carries no signature.
            if !is_start
                && capture.is_none()
                && Place::of(local, frames.last().map(|f| f.place)) == Place::Bordereau
            {
                facts.bordereaux += 1;
                facts.note_unsigned(id_attribute);
            }
        }
        // Entering a signature?
        if let (Event::Start(_), Some((Some(ns), local)), None) = (&event, name, &capture)
            && ns == NS_DS
            && local == "Signature"
        {
            capture = Some(Capture {
                id: id.clone(),
                parent: frames.len().saturating_sub(1),
                depth: frames.len(),
                full: Canonicalizer::subtree(&inclusive(), &context(), Vec::new()),
                signed_info: None,
                signed_info_done: None,
                inner: Vec::new(),
                inner_done: HashMap::new(),
                inner_repeated: false,
            });
        }
        // Targets: the root and bordereaux with an Id, outside signatures.
        if let Event::Start(_) = &event {
            let local = name.map(|(_, l)| l).unwrap_or("");
            let place = if capture.is_some() {
                Place::Other
            } else {
                Place::of(local, frames.last().map(|f| f.place))
            };
            if place == Place::Bordereau {
                facts.bordereaux += 1;
            }
            let is_target = capture.is_none()
                && id
                    .as_ref()
                    .is_some_and(|i| needs.is_none_or(|n| n.ids.contains(i)))
                && ((frames.is_empty() && local == "PES_Aller") || local == "Bordereau");
            if is_target {
                hasher.open(TargetHash {
                    exc: Canonicalizer::subtree(&exclusive(), &context(), hashes())
                        .exclude_signature_children(true),
                    inc: needs.is_none_or(|n| n.inclusive).then(|| {
                        Canonicalizer::subtree(&inclusive(), &context(), hashes())
                            .exclude_signature_children(true)
                    }),
                });
            }
            frames.push(Frame {
                id: id.clone(),
                hashed: is_target,
                place,
                named_bordereau: local == "Bordereau",
            });
        }
        if let Some(c) = capture.as_mut() {
            if let Event::Start(_) = &event {
                let local = name.map(|(_, l)| l).unwrap_or("");
                // The SignedInfo is the signature's first child; nothing deeper is taken for it.
                if local == "SignedInfo"
                    && frames.len() == c.depth + 2
                    && c.signed_info.is_none()
                    && c.signed_info_done.is_none()
                {
                    c.signed_info = Some(Pair {
                        exc: Canonicalizer::subtree(&exclusive(), &context(), Vec::new()),
                        inc: Canonicalizer::subtree(&inclusive(), &context(), Vec::new()),
                    });
                }
                if let Some(inner_id) = &id
                    && frames.len() > c.depth + 1
                {
                    c.inner.push((
                        inner_id.clone(),
                        Pair {
                            exc: Canonicalizer::subtree(&exclusive(), &context(), Vec::new()),
                            inc: Canonicalizer::subtree(&inclusive(), &context(), Vec::new()),
                        },
                    ));
                }
            }
            c.full.feed_parsed(&event, tag).map_err(|e| e.or_at(at()))?;
            if let Some(si) = c.signed_info.as_mut()
                && si.feed(&event, tag).map_err(|e| e.or_at(at()))?
            {
                let si = c
                    .signed_info
                    .take()
                    .ok_or(C14nError::Usage(String::new()))?;
                c.signed_info_done = Some((si.exc.finish()?, si.inc.finish()?));
            }
            let mut finished = Vec::new();
            for (i, (_, pair)) in c.inner.iter_mut().enumerate() {
                if pair.feed(&event, tag).map_err(|e| e.or_at(at()))? {
                    finished.push(i);
                }
            }
            for i in finished.into_iter().rev() {
                let (inner_id, pair) = c.inner.remove(i);
                let exc = pair.exc.finish()?;
                let inc = pair.inc.finish()?;
                if c.inner_done
                    .insert(inner_id, Digests::from_bytes(&exc, &inc))
                    .is_some()
                {
                    c.inner_repeated = true;
                }
            }
        }
        if hasher.is_hashing() {
            match hasher.feed(&event, tag, info.offset()) {
                Ok(()) => {}
                // The hashing thread stopped on an error, which the caller reports.
                Err(NotFed::Stopped) => return Ok(()),
                Err(NotFed::Refused(e)) => return Err(e.or_at(at()).into()),
            }
        }
        if let Event::End(_) = &event {
            // Leaving the signature?
            if capture
                .as_ref()
                .is_some_and(|c| c.depth + 1 == frames.len())
            {
                let c = capture.take().ok_or(C14nError::Usage(String::new()))?;
                let full = c.full.finish()?;
                pending.push(Pending {
                    id: c.id,
                    parent: c.parent,
                    full,
                    signed_info: c.signed_info_done.unwrap_or_default(),
                    inner: c.inner_done,
                    inner_repeated: c.inner_repeated,
                });
            }
            let index = frames.len().saturating_sub(1);
            let frame = frames.pop().ok_or(C14nError::Usage(String::new()))?;
            if frame.named_bordereau {
                bordereaux_closed += 1;
            }
            let digests = if frame.hashed {
                match hasher.close(info.offset()) {
                    Ok(later) => Some(later),
                    // As above: the caller reports the hashing thread's error.
                    Err(_) => return Ok(()),
                }
            } else {
                None
            };
            // Most elements close with no signature waiting on them: no allocation then.
            let mine: Vec<Pending> = if pending.iter().any(|p| p.parent == index) {
                let (mine, others) = std::mem::take(&mut pending)
                    .into_iter()
                    .partition(|p| p.parent == index);
                pending = others;
                mine
            } else {
                Vec::new()
            };
            match frame.place {
                Place::Root if !mine.is_empty() => facts.root_signed = true,
                Place::Bordereau if mine.is_empty() => {
                    facts.note_unsigned(frame.id.as_deref());
                }
                _ => {}
            }
            if !mine.is_empty() {
                let parent = Parent {
                    id: frame.id,
                    place: frame.place,
                };
                // The checker only stops when this side drops the channel.
                let _ = to_check.send((mine, parent, digests));
            }
            if needs.is_some_and(|n| {
                nothing_left_to_verify(n, signatures_seen, root_qname.as_deref())
                    && bordereaux_closed == n.bordereaux
                    && n.ids_unique_for_sure()
            }) && capture.is_none()
                && pending.is_empty()
                && !hasher.is_hashing()
            {
                // Every signature and every bordereau of the file is read, no digest is under
                // way, and the prescan proved every Id of the file unique: the rest (the PES_PJ,
                // most of a PES's bytes) is covered by no signature and is not parsed. The
                // prescan saw the file end with the root's end tag, so a truncated file still
                // goes the whole way and fails where it breaks.
                break;
            }
        }
    }
    if !pending.is_empty() {
        let parent = Parent {
            id: None,
            place: Place::Other,
        };
        let _ = to_check.send((pending, parent, None));
    }
    Ok(())
}

/// How a bordereau is named in the report: its Id, else its rank in the file.
fn bordereau_label(id: Option<&str>, rank: usize) -> String {
    match id {
        Some(id) => id.to_owned(),
        None => tf(
            "verification.bordereau_sans_id",
            &[("rang", &rank.to_string())],
        ),
    }
}

/// Values read from a signature's canonical text, each only at its place in the XML-DSig and
/// XAdES structures: a `SigningTime`, a certificate or a reference anywhere else is not the
/// signature's (an attacker may add such elements in an unsigned object).
#[derive(Default, Debug)]
struct Parsed {
    /// `SignedInfo` children of the signature (one expected).
    signed_infos: usize,
    c14n: Option<String>,
    signature_method: Option<String>,
    references: Vec<Reference>,
    signature_value: String,
    certificates: Vec<String>,
    /// Every `SignedProperties` at its place (`Signature/Object/QualifyingProperties/…`).
    properties: Vec<Properties>,
    /// `SigningTime` and `ClaimedRole` found outside any such `SignedProperties`.
    stray_claims: Vec<(&'static str, String)>,
}

/// What one `SignedProperties` declares.
#[derive(Default, Debug)]
struct Properties {
    id: Option<String>,
    /// The `Target` of the `QualifyingProperties` holding it.
    target: Option<String>,
    signing_time: Option<String>,
    /// `(algorithm, value)` of each certificate named in `SigningCertificate(V2)`.
    cert_digests: Vec<(String, String)>,
    policy_id: Option<String>,
    policy_hash: Option<(String, String)>,
    role: Option<String>,
}

impl Properties {
    /// The claims it holds, to report them when this element is not the signed one.
    fn claims(&self) -> impl Iterator<Item = (&'static str, String)> + '_ {
        let time = self.signing_time.iter().map(|v| ("SigningTime", v.clone()));
        let role = self.role.iter().map(|v| ("ClaimedRole", v.clone()));
        time.chain(role)
    }
}

#[derive(Default, Debug)]
struct Reference {
    uri: String,
    transforms: Vec<String>,
    digest_method: String,
    digest_value: String,
}

const SIGNED_INFO: &[&str] = &["Signature", "SignedInfo"];
const REFERENCE: &[&str] = &["Signature", "SignedInfo", "Reference"];
const QUALIFYING: &[&str] = &["Signature", "Object", "QualifyingProperties"];
const SIGNED_PROPERTIES: &[&str] = &[
    "Signature",
    "Object",
    "QualifyingProperties",
    "SignedProperties",
];

/// Whether `path` (local names from the signature down) is `prefix` followed by `rest`.
fn path_is(path: &[String], prefix: &[&str], rest: &[&str]) -> bool {
    path.len() == prefix.len() + rest.len()
        && path
            .iter()
            .zip(prefix.iter().chain(rest))
            .all(|(a, b)| a == b)
}

/// Whether `path` ends with `tail`.
fn path_ends(path: &[String], tail: &[&str]) -> bool {
    path.len() >= tail.len()
        && path[path.len() - tail.len()..]
            .iter()
            .zip(tail)
            .all(|(a, b)| a == b)
}

fn parse_signature(xml: &[u8]) -> Parsed {
    let mut p = Parsed::default();
    let mut reader = quick_xml::Reader::from_reader(xml);
    let mut path: Vec<String> = Vec::new();
    let mut buf = Vec::new();
    // The text of the element being read, references resolved.
    let mut text = String::new();
    // Index in `p.properties` of the SignedProperties being read, and the current
    // QualifyingProperties' Target.
    let mut in_properties: Option<usize> = None;
    let mut target: Option<String> = None;
    let local = |q: &[u8]| {
        let q = String::from_utf8_lossy(q).into_owned();
        q.rsplit(':').next().unwrap_or_default().to_owned()
    };
    loop {
        let event = match reader.read_event_into(&mut buf) {
            Ok(Event::Eof) | Err(_) => break,
            Ok(e) => e,
        };
        match &event {
            Event::Start(s) | Event::Empty(s) => {
                text.clear();
                let name = local(s.name().as_ref());
                let attribute = |key: &[u8]| {
                    s.attributes()
                        .flatten()
                        .find(|a| a.key.as_ref() == key)
                        .map(|a| String::from_utf8_lossy(&a.value).into_owned())
                };
                let algorithm = attribute(b"Algorithm");
                let first_signed_info = p.signed_infos == 1;
                if path_is(&path, &["Signature"], &[]) && name == "SignedInfo" {
                    p.signed_infos += 1;
                } else if first_signed_info && path_is(&path, SIGNED_INFO, &[]) {
                    match name.as_str() {
                        "CanonicalizationMethod" => p.c14n = algorithm,
                        "SignatureMethod" => p.signature_method = algorithm,
                        "Reference" => p.references.push(Reference {
                            uri: attribute(b"URI").unwrap_or_default(),
                            ..Default::default()
                        }),
                        _ => {}
                    }
                } else if first_signed_info && path_is(&path, REFERENCE, &["Transforms"]) {
                    if let (Some(r), Some(a), "Transform") =
                        (p.references.last_mut(), algorithm, name.as_str())
                    {
                        r.transforms.push(a);
                    }
                } else if first_signed_info && path_is(&path, REFERENCE, &[]) {
                    if let (Some(r), Some(a), "DigestMethod") =
                        (p.references.last_mut(), algorithm, name.as_str())
                    {
                        r.digest_method = a;
                    }
                } else if path_is(&path, &["Signature", "KeyInfo", "X509Data"], &[])
                    && name == "X509Certificate"
                {
                    p.certificates.push(String::new());
                } else if path_is(&path, &["Signature", "Object"], &[])
                    && name == "QualifyingProperties"
                {
                    target = attribute(b"Target");
                } else if path_is(&path, QUALIFYING, &[]) && name == "SignedProperties" {
                    in_properties = Some(p.properties.len());
                    p.properties.push(Properties {
                        id: attribute(b"Id"),
                        target: target.clone(),
                        ..Default::default()
                    });
                } else if let Some(props) = in_properties.and_then(|i| p.properties.get_mut(i))
                    && name == "DigestMethod"
                {
                    let algorithm = algorithm.unwrap_or_default();
                    if path_ends(&path, &["Cert", "CertDigest"]) {
                        props.cert_digests.push((algorithm, String::new()));
                    } else if path_ends(&path, &["SigPolicyHash"]) {
                        props.policy_hash = Some((algorithm, String::new()));
                    }
                }
                if matches!(event, Event::Start(_)) {
                    path.push(name);
                }
            }
            Event::Text(t) => text.push_str(&String::from_utf8_lossy(t)),
            Event::GeneralRef(r) => {
                if let Ok(c) = crate::xml::resolve_reference(&String::from_utf8_lossy(r)) {
                    text.push(c);
                }
            }
            Event::End(_) => {
                let value = std::mem::take(&mut text);
                let props = in_properties.and_then(|i| p.properties.get_mut(i));
                if p.signed_infos == 1 && path_is(&path, REFERENCE, &["DigestValue"]) {
                    if let Some(r) = p.references.last_mut() {
                        r.digest_value.push_str(&value);
                    }
                } else if path_is(&path, &["Signature", "SignatureValue"], &[]) {
                    p.signature_value.push_str(&value);
                } else if path_is(
                    &path,
                    &["Signature", "KeyInfo", "X509Data"],
                    &["X509Certificate"],
                ) {
                    if let Some(c) = p.certificates.last_mut() {
                        c.push_str(&value);
                    }
                } else if let Some(props) = props {
                    if path_is(&path, SIGNED_PROPERTIES, &[]) {
                        in_properties = None;
                    } else if path_ends(&path, &["SignedSignatureProperties", "SigningTime"]) {
                        props.signing_time = Some(value);
                    } else if path_ends(&path, &["CertDigest", "DigestValue"]) {
                        if let Some(d) = props.cert_digests.last_mut() {
                            d.1.push_str(&value);
                        }
                    } else if path_ends(&path, &["SigPolicyId", "Identifier"]) {
                        props.policy_id = Some(value);
                    } else if path_ends(&path, &["SigPolicyHash", "DigestValue"]) {
                        if let Some(h) = props.policy_hash.as_mut() {
                            h.1.push_str(&value);
                        }
                    } else if path_ends(&path, &["ClaimedRoles", "ClaimedRole"]) {
                        props.role = Some(value);
                    } else if path_ends(&path, &["SigningTime"]) {
                        p.stray_claims.push(("SigningTime", value));
                    } else if path_ends(&path, &["ClaimedRole"]) {
                        p.stray_claims.push(("ClaimedRole", value));
                    }
                } else if path_ends(&path, &["SigningTime"]) {
                    p.stray_claims.push(("SigningTime", value));
                } else if path_ends(&path, &["ClaimedRole"]) {
                    p.stray_claims.push(("ClaimedRole", value));
                }
                path.pop();
            }
            _ => {}
        }
        buf.clear();
    }
    p
}

/// The signature's own signed properties: the one `SignedProperties` at its place whose Id a
/// reference of the SignedInfo names; the others, if any, are the signed properties of nobody.
fn signed_properties(parsed: &Parsed) -> Result<usize, String> {
    let referenced = |props: &&Properties| {
        props.id.as_deref().is_some_and(|id| {
            parsed
                .references
                .iter()
                .any(|r| r.uri.strip_prefix('#') == Some(id))
        })
    };
    let mut found = parsed
        .properties
        .iter()
        .enumerate()
        .filter(|(_, props)| referenced(props));
    match (found.next(), found.next()) {
        (Some((index, _)), None) => Ok(index),
        (Some((_, props)), Some(_)) => Err(tf(
            "verification.proprietes_en_double",
            &[("id", props.id.as_deref().unwrap_or(""))],
        )),
        (None, _) => Err(t("verification.sans_proprietes_signees")),
    }
}

fn digest_algorithm(uri: &str) -> Option<(&'static str, MessageDigest)> {
    match uri {
        SHA1 => Some((SHA1, MessageDigest::sha1())),
        SHA256 => Some((SHA256, MessageDigest::sha256())),
        _ => None,
    }
}

fn check_signature(
    p: &Pending,
    parent: &Parent,
    parent_digests: Option<&Digests>,
    trust: Option<&TrustStore>,
    checks: Checks,
) -> SignatureVerdict {
    let parsed = parse_signature(&p.full);
    let mut reasons: Vec<String> = Vec::new();
    let mut integrity = true;
    let mut target = None;
    let properties = signed_properties(&parsed);
    let empty = Properties::default();
    let props = properties
        .as_ref()
        .ok()
        .and_then(|i| parsed.properties.get(*i))
        .unwrap_or(&empty);
    if parsed.signed_infos != 1 {
        integrity = false;
        reasons.push(t("verification.signed_info"));
    }
    // References: the signed element (the signature's parent, or files beside a detached
    // signature) and the signature's own signed properties, nothing else.
    if parsed.references.is_empty() {
        integrity = false;
        reasons.push(t("verification.sans_reference"));
    }
    let mut covers_target = 0usize;
    let parent_id = parent.id.as_deref();
    for r in &parsed.references {
        let id = r.uri.strip_prefix('#');
        let enveloped = r
            .transforms
            .iter()
            .any(|t| t.ends_with("#enveloped-signature"));
        let c14n: &'static str = if r.transforms.iter().any(|t| t == EXC_C14N) {
            EXC_C14N
        } else {
            INCLUSIVE_C14N
        };
        let Some((alg, md)) = digest_algorithm(&r.digest_method) else {
            integrity = false;
            reasons.push(tf(
                "verification.algorithme_inconnu",
                &[("algorithme", &r.digest_method)],
            ));
            continue;
        };
        let external = !r.uri.is_empty() && id.is_none();
        let computed = if external {
            covers_target += 1;
            // A file beside the signature, taken as it is (no transform applies to it here).
            match checks.external_base {
                Some(base) if r.transforms.is_empty() => external_digest(base, &r.uri, md),
                _ => None,
            }
        } else if id.is_some() && id == parent_id && enveloped {
            covers_target += 1;
            target = id.map(str::to_owned);
            parent_digests.and_then(|d| d.0.get(&(c14n, alg)).cloned())
        } else if id.is_some() && id == props.id.as_deref() {
            id.and_then(|id| p.inner.get(id))
                .and_then(|d| d.0.get(&(c14n, alg)).cloned())
        } else {
            integrity = false;
            reasons.push(tf("verification.reference_inattendue", &[("uri", &r.uri)]));
            continue;
        };
        match (computed, super::decode_base64(&r.digest_value)) {
            (Some(c), Some(expected)) if c == expected => {}
            (None, _) => {
                integrity = false;
                reasons.push(tf("verification.reference_introuvable", &[("uri", &r.uri)]));
            }
            _ => {
                integrity = false;
                reasons.push(tf("verification.empreinte", &[("uri", &r.uri)]));
            }
        }
    }
    if p.inner_repeated {
        integrity = false;
        reasons.push(t("verification.identifiant_interne_double"));
    }
    if checks.helios_policy {
        // A PES signature is enveloped in the bordereau or the root it signs, once.
        if !matches!(parent.place, Place::Root | Place::Bordereau) {
            integrity = false;
            reasons.push(t("verification.mal_placee"));
        } else if covers_target != 1 {
            integrity = false;
            reasons.push(tf(
                "verification.ne_couvre_pas",
                &[("id", parent_id.unwrap_or(""))],
            ));
        }
    } else if covers_target == 0 {
        integrity = false;
        reasons.push(t("verification.sans_reference"));
    }
    // Signature value over the canonical SignedInfo.
    let cert = parsed
        .certificates
        .first()
        .and_then(|c| super::decode_base64(c))
        .and_then(|der| X509::from_der(&der).ok());
    let signer_name = cert.as_ref().and_then(|c| {
        crate::certs::CertificateInfo::from_der(&c.to_der().ok()?)
            .ok()
            .map(|i| i.display_name().to_owned())
    });
    let signed_info = match parsed.c14n.as_deref() {
        Some(EXC_C14N) => Some(&p.signed_info.0),
        Some(INCLUSIVE_C14N) => Some(&p.signed_info.1),
        _ => None,
    };
    match (&cert, signed_info, parsed.signature_method.as_deref()) {
        (Some(cert), Some(si), Some(method)) => {
            if !signature_value_ok(cert, method, si, &parsed.signature_value) {
                integrity = false;
                reasons.push(t("verification.valeur_signature"));
            }
        }
        (None, _, _) => {
            integrity = false;
            reasons.push(t("verification.sans_certificat"));
        }
        _ => {
            integrity = false;
            reasons.push(t("verification.algorithme_signature"));
        }
    }
    // SignedProperties: only the signature's own, signed ones count.
    let mut acceptable = integrity;
    if let Err(reason) = &properties {
        acceptable = false;
        reasons.push(reason.clone());
    } else if let Some(sig_id) = &p.id
        && props.target.as_deref().and_then(|t| t.strip_prefix('#')) != Some(sig_id.as_str())
    {
        acceptable = false;
        reasons.push(tf(
            "verification.proprietes_autre_signature",
            &[("cible", props.target.as_deref().unwrap_or(""))],
        ));
    }
    match &cert {
        Some(cert) if !props.cert_digests.is_empty() => {
            let ok = props.cert_digests.iter().any(|(alg, value)| {
                digest_algorithm(alg)
                    .and_then(|(_, md)| cert.digest(md).ok())
                    .zip(super::decode_base64(value))
                    .is_some_and(|(d, v)| d.as_ref() == v.as_slice())
            });
            if !ok {
                acceptable = false;
                reasons.push(t("verification.cert_digest"));
            }
        }
        _ => {
            acceptable = false;
            reasons.push(t("verification.sans_signing_certificate"));
        }
    }
    let policy = props.policy_id.clone();
    let mut warnings = Vec::new();
    match (&policy, &props.policy_hash) {
        // Outside Hélios a policy is optional; one that is given is only reported.
        _ if !checks.helios_policy => {}
        (Some(id), Some((alg, value))) => match check_policy(id, alg, value) {
            Ok(false) => {}
            Ok(true) => warnings.push(t("verification.politique_sans_remplissage")),
            Err(problem) => {
                acceptable = false;
                reasons.push(problem.message());
            }
        },
        _ => {
            acceptable = false;
            reasons.push(t("verification.sans_politique"));
        }
    }
    let signing_time = props.signing_time.as_deref().and_then(|s| {
        time::OffsetDateTime::parse(s.trim(), &time::format_description::well_known::Rfc3339).ok()
    });
    if signing_time.is_none() {
        acceptable = false;
        reasons.push(t("verification.sans_date"));
    }
    // Certificate: valid at signing time and chained to a trusted authority.
    let mut chained = None;
    let revocation_subject = cert.as_ref().map(|cert| RevocationSubject {
        certificate: cert.clone(),
        candidates: parsed
            .certificates
            .iter()
            .skip(1)
            .filter_map(|c| super::decode_base64(c))
            .filter_map(|der| X509::from_der(&der).ok())
            .chain(
                trust
                    .map(TrustStore::certificates)
                    .unwrap_or_default()
                    .iter()
                    .cloned(),
            )
            .collect(),
        at: signing_time,
    });
    if let Some(cert) = &cert {
        match trust {
            None => {
                acceptable = false;
                reasons.push(t("verification.sans_confiance"));
            }
            Some(store) => {
                let chain: Vec<X509> = parsed
                    .certificates
                    .iter()
                    .skip(1)
                    .filter_map(|c| super::decode_base64(c))
                    .filter_map(|der| X509::from_der(&der).ok())
                    .collect();
                let checked = store.check_chain(cert, &chain, signing_time);
                chained = Some(checked.is_ok());
                if let Err(reason) = checked {
                    acceptable = false;
                    reasons.push(tf("verification.chaine", &[("detail", &reason)]));
                }
            }
        }
    }
    // What the signature carries outside its signed properties: said, never used.
    let own = properties.as_ref().ok().copied();
    let unsigned: Vec<String> = parsed
        .properties
        .iter()
        .enumerate()
        .filter(|(i, _)| Some(*i) != own)
        .flat_map(|(_, other)| other.claims())
        .chain(parsed.stray_claims.iter().cloned())
        .map(|(element, value)| {
            tf(
                "verification.non_signee",
                &[("element", element), ("valeur", value.trim())],
            )
        })
        .collect();
    SignatureVerdict {
        id: p.id.clone(),
        cible: target.or_else(|| parent_id.map(str::to_owned)),
        integrite: integrity,
        valide: acceptable,
        raison: reasons,
        avertissements: warnings,
        informations_non_signees: unsigned,
        signataire: signer_name,
        date_signature: props.signing_time.clone(),
        role: props.role.clone(),
        politique: policy,
        certificat: cert.as_ref().and_then(|c| c.to_der().ok()),
        chaine: chained,
        revocation: None,
        revocation_subject,
    }
}

fn signature_value_ok(cert: &X509, method: &str, signed_info: &[u8], value_b64: &str) -> bool {
    let (md, ecdsa) = match method {
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256" => (MessageDigest::sha256(), false),
        "http://www.w3.org/2000/09/xmldsig#rsa-sha1" => (MessageDigest::sha1(), false),
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512" => (MessageDigest::sha512(), false),
        "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256" => (MessageDigest::sha256(), true),
        "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha1" => (MessageDigest::sha1(), true),
        _ => return false,
    };
    let Some(mut value) = super::decode_base64(value_b64) else {
        return false;
    };
    if ecdsa {
        match ecdsa_raw_to_der(&value) {
            Some(der) => value = der,
            None => return false,
        }
    }
    let Ok(key) = cert.public_key() else {
        return false;
    };
    openssl::sign::Verifier::new(md, &key)
        .and_then(|mut v| v.verify_oneshot(&value, signed_info))
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_start_tags_are_told_from_end_tags_and_other_names() {
        let at = |s: &str| s.find("Signature").expect("word");
        for yes in [
            "<ds:Signature Id=\"a\">",
            "<Signature>",
            "<x-y.z:Signature/>",
        ] {
            assert!(is_signature_start_tag(yes.as_bytes(), at(yes)), "{yes}");
        }
        for no in [
            "</ds:Signature>",
            "<ds:SignatureValue>",
            "<ds:SignedInfo> Signature ",
            ":Signature>",
            "<:Signature>",
        ] {
            assert!(!is_signature_start_tag(no.as_bytes(), at(no)), "{no}");
        }
    }

    /// Where the windows of the prescan of a file of `size` bytes and the root's end tag `</r>`
    /// end: the first holds a block and the overlap, each next one a block more; a large file is
    /// also cut in two halves.
    fn scan_boundaries(size: usize) -> Vec<usize> {
        let middle = (size + "</r>".len()) / 2;
        let block = 1usize << 20;
        let mut boundaries = vec![block + OVERLAP, 2 * block + OVERLAP];
        if size as u64 >= PRESCAN_SPLIT {
            boundaries.extend([middle, middle + block, block + OVERLAP + 3 * block]);
        }
        boundaries
    }

    /// A `Signature` start tag is counted once wherever the blocks of the scan and the halves of
    /// a large file meet — in particular when the name ends right at a boundary, before the byte
    /// that tells a start tag (it used to be counted by neither side).
    #[test]
    fn signature_tags_are_counted_once_across_boundaries() {
        let dir = tempfile::tempdir().expect("dossier");
        let path = dir.path().join("p.xml");
        let tag = b"<ds:Signature ";
        for size in [3usize << 20, 20 << 20] {
            for boundary in scan_boundaries(size) {
                // The byte after the name at the boundary, a byte before, a byte after.
                for shift in [0isize, -1, 1, -9, 9] {
                    let mut data = vec![b'A'; size];
                    let name_end = (boundary as isize + shift) as usize;
                    let at = name_end - (tag.len() - 1);
                    data[at..at + tag.len()].copy_from_slice(tag);
                    data.extend_from_slice(b"</r>");
                    std::fs::write(&path, &data).expect("écrit");
                    let needs = prescan(&path).expect("lu");
                    assert_eq!(
                        needs.signatures, 1,
                        "taille {size}, frontière {boundary}, décalage {shift}"
                    );
                    assert_eq!(needs.last_end_tag.as_deref(), Some("r"));
                }
            }
        }
    }

    #[test]
    fn id_attributes_are_read_as_xml_writes_them_and_nothing_else() {
        let read = |s: &'static str| id_candidate(s.as_bytes(), s.find("Id").expect("Id"));
        assert_eq!(read("<a Id=\"B1\">"), IdCandidate::Value(b"B1", 10));
        assert_eq!(read("<a\nId = 'B1'/>"), IdCandidate::Value(b"B1", 12));
        assert_eq!(read("<a\tId\r\n=\n\"\"/>"), IdCandidate::Value(b"", 11));
        // Other names, element names, no `=`: not an Id attribute.
        assert_eq!(read("<IdPost V=\"1\"/>"), IdCandidate::Not);
        assert_eq!(read("<a xId=\"1\"/>"), IdCandidate::Not);
        assert_eq!(read("<a Idx=\"1\"/>"), IdCandidate::Not);
        assert_eq!(read("texte Id suivi de mots"), IdCandidate::Not);
        // What a byte scan cannot read for sure.
        assert_eq!(read("<a Id=\"B&#49;\"/>"), IdCandidate::Unreadable);
        let long = format!("<a Id=\"{}\"/>", "x".repeat(ID_CANDIDATE_MAX_LEN + 1));
        assert_eq!(id_candidate(long.as_bytes(), 3), IdCandidate::Unreadable);
        let spaced = format!("<a Id{}=\"x\"/>", " ".repeat(ID_CANDIDATE_MAX_SPACE + 1));
        assert_eq!(id_candidate(spaced.as_bytes(), 3), IdCandidate::Unreadable);
        // Cut by the window's end.
        assert_eq!(read("<a Id=\"B"), IdCandidate::Cut);
        assert_eq!(read("<a Id ="), IdCandidate::Cut);
    }

    /// An `Id` is noted once wherever the blocks of the scan and the halves of a large file meet:
    /// one alone never looks repeated, and the same value twice always does.
    #[test]
    fn id_candidates_are_noted_once_across_boundaries() {
        let dir = tempfile::tempdir().expect("dossier");
        let path = dir.path().join("p.xml");
        let attribute = b" Id=\"Bord-42\"";
        for size in [3usize << 20, 20 << 20] {
            for boundary in scan_boundaries(size) {
                for shift in [-8isize, 0, 5] {
                    let mut data = vec![b'A'; size];
                    let start = (boundary as isize + shift) as usize - attribute.len() / 2;
                    data[start..start + attribute.len()].copy_from_slice(attribute);
                    data.extend_from_slice(b"</r>");
                    std::fs::write(&path, &data).expect("écrit");
                    let needs = prescan(&path).expect("lu");
                    assert!(
                        needs.ids_unique_for_sure(),
                        "taille {size}, frontière {boundary}, décalage {shift}"
                    );
                    // The same Id again, far away: repeated.
                    let far = if start > size / 2 { 100 } else { size - 100 };
                    data[far..far + attribute.len()].copy_from_slice(attribute);
                    std::fs::write(&path, &data).expect("écrit");
                    let needs = prescan(&path).expect("lu");
                    assert!(
                        !needs.ids_unique_for_sure(),
                        "taille {size}, frontière {boundary}, décalage {shift}"
                    );
                }
            }
        }
    }

    #[test]
    fn the_last_end_tag_is_read_whitespace_aside() {
        assert_eq!(
            trailing_end_tag(b"...</PES_PJ></n:PES_Aller>\n\r\n").as_deref(),
            Some("n:PES_Aller")
        );
        assert_eq!(trailing_end_tag(b"<a/>"), None);
        assert_eq!(trailing_end_tag(b"</a><!-- fin -->"), None);
        assert_eq!(trailing_end_tag(b"</Fichier"), None);
        assert_eq!(trailing_end_tag(b"QUJD"), None);
    }
}
