//! The prescan: a quick scan of the file's bytes, before any XML parsing, for what the
//! verification will need (the Ids that references name, inclusive C14N, SHA-1), how many
//! signatures and bordereaux there are at most, how the file ends, whether every `Id` is surely
//! unique, and where a NUL byte is. It is what lets the streaming pass hash only the real targets
//! and stop once the last signature is read.

use super::digests::{INCLUSIVE_C14N, SHA1};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

/// What a quick byte scan of the file says the verification will need: the Ids that signatures
/// reference, and whether any uses inclusive canonicalisation. Canonicalising only those targets
/// (instead of every element with an Id, in both modes) is what keeps verification fast.
#[derive(Debug, Default)]
pub struct Needs {
    pub(super) ids: std::collections::HashSet<String>,
    pub(super) inclusive: bool,
    /// Some signature names SHA-1 (the older Hélios profile).
    pub(super) sha1: bool,
    /// Start tags named `Signature` (any prefix) in the bytes: never fewer than the document's
    /// signatures (a comment or CDATA section may add false ones, never hide a real one).
    signatures: usize,
    /// The qualified name of the end tag the file finishes with (whitespace aside), if it does.
    last_end_tag: Option<String>,
    /// Start tags named `Bordereau` (any prefix) in the bytes: never fewer than the document's.
    pub(super) bordereaux: usize,
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
    pub(in crate::pes) fn first_nul(&self) -> Option<u64> {
        self.first_nul
    }

    /// The file ends with the end tag `root` (as written), whitespace aside.
    pub(in crate::pes) fn ends_with(&self, root: Option<&str>) -> bool {
        root.is_some() && self.last_end_tag.as_deref() == root
    }

    /// The prescan proves that no `Id` occurs twice in the whole file: a superset of the
    /// document's `Id` attributes was read and has no repetition. Only then may the parts after
    /// the last signature go unread.
    pub(in crate::pes) fn ids_unique_for_sure(&self) -> bool {
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
pub(super) fn nothing_left_to_verify(needs: &Needs, seen: usize, root: Option<&str>) -> bool {
    seen > 0 && seen == needs.signatures && root.is_some() && needs.last_end_tag.as_deref() == root
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
