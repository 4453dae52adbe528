//! Shared helpers of the canonicalisation tests (`tests/c14n_*.rs` include this file with
//! `#[path = "c14n_support.rs"] mod support;`): finding the reference tools (xmllint, libxml2 and
//! lxml through `tests/tools/c14n_ref.py`), running them, comparing, and a generator of nasty
//! documents. Compiled alone, it holds no test.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use paraphe::xml::{C14nError, C14nMode};

pub const MANIFEST_DIR: &str = env!("CARGO_MANIFEST_DIR");

pub fn in_ci() -> bool {
    std::env::var_os("CI").is_some()
}

/// A missing tool or input: fails in CI, skips loudly elsewhere. Returns `false` to skip.
pub fn require(available: bool, what: &str) -> bool {
    if available {
        return true;
    }
    if in_ci() {
        panic!("{what} est introuvable : indispensable en CI");
    }
    eprintln!("\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!");
    eprintln!("!!! TEST SAUTÉ : {what} est introuvable (il ferait échouer la CI)");
    eprintln!("!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n");
    false
}

pub fn xmllint_available() -> bool {
    Command::new("xmllint")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

pub fn python() -> PathBuf {
    Path::new(MANIFEST_DIR).join(".venv/bin/python")
}

pub fn lxml_available() -> bool {
    Command::new(python())
        .args([
            "-c",
            "import lxml.etree, ctypes.util; assert ctypes.util.find_library('xml2')",
        ])
        .output()
        .is_ok_and(|o| o.status.success())
}

pub fn conformance_dir() -> PathBuf {
    Path::new(MANIFEST_DIR).join("../shared/conformance")
}

/// `xmllint --c14n` / `--exc-c14n` (both keep comments): `Ok(bytes)` or `Err(stderr)`.
pub fn xmllint(path: &Path, exclusive: bool) -> Result<Vec<u8>, String> {
    let out = Command::new("xmllint")
        .arg(if exclusive { "--exc-c14n" } else { "--c14n" })
        .arg("--nonet")
        .arg(path)
        .output()
        .expect("xmllint ne démarre pas");
    // A namespace error does not stop xmllint (libxml2 recovers); we refuse such documents.
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.success()
        && !stderr.contains("namespace error")
        && !stderr.contains("parser error")
    {
        Ok(out.stdout)
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefKind {
    LxmlDoc,
    LxmlId,
    Libxml2Doc,
    Libxml2Id,
}

impl RefKind {
    fn name(self) -> &'static str {
        match self {
            RefKind::LxmlDoc => "lxml-doc",
            RefKind::LxmlId => "lxml-id",
            RefKind::Libxml2Doc => "libxml2-doc",
            RefKind::Libxml2Id => "libxml2-id",
        }
    }
}

/// One canonicalisation asked from the reference tools.
#[derive(Debug, Clone)]
pub struct RefJob {
    pub kind: RefKind,
    pub file: PathBuf,
    pub mode: C14nMode,
    /// (attribute, value) of the apex for `*Id` kinds.
    pub id: Option<(String, String)>,
    pub exclude_signature: bool,
}

#[derive(Debug, Clone)]
pub struct RefResult {
    pub output: Result<Vec<u8>, String>,
    /// lxml-id: an ancestor of the apex has xml:* attributes (lxml then differs from C14N 1.0).
    pub ancestors_have_xml_attributes: bool,
}

fn mode_fields(mode: &C14nMode) -> (bool, bool, String) {
    match mode {
        C14nMode::Inclusive { with_comments } => (false, *with_comments, "-".to_owned()),
        C14nMode::Exclusive {
            with_comments,
            inclusive_prefixes,
        } => (
            true,
            *with_comments,
            if inclusive_prefixes.is_empty() {
                "-".to_owned()
            } else {
                inclusive_prefixes.join(" ")
            },
        ),
    }
}

impl RefJob {
    /// A job; for lxml, `#default` is dropped from the prefix list: lxml passes libxml2 only
    /// the prefixes found in the document's dictionary, so it cannot express `#default`
    /// (the libxml2 jobs cover it).
    pub fn new(
        kind: RefKind,
        file: &Path,
        mode: &C14nMode,
        id: Option<&str>,
        exclude_signature: bool,
    ) -> Self {
        let mode = match (kind, mode) {
            (
                RefKind::LxmlDoc | RefKind::LxmlId,
                C14nMode::Exclusive {
                    with_comments,
                    inclusive_prefixes,
                },
            ) => C14nMode::Exclusive {
                with_comments: *with_comments,
                inclusive_prefixes: inclusive_prefixes
                    .iter()
                    .filter(|p| *p != "#default")
                    .cloned()
                    .collect(),
            },
            _ => mode.clone(),
        };
        RefJob {
            kind,
            file: file.to_path_buf(),
            mode,
            id: id.map(|v| ("Id".to_owned(), v.to_owned())),
            exclude_signature,
        }
    }

    /// Our canonical form for the same job.
    pub fn ours(&self, bytes: &[u8]) -> Result<Vec<u8>, C14nError> {
        match &self.id {
            None => paraphe::xml::canonicalize(bytes, &self.mode),
            Some((attr, value)) => paraphe::xml::canonicalize_element_by_id(
                bytes,
                attr,
                value,
                &self.mode,
                self.exclude_signature,
            ),
        }
    }

    pub fn describe(&self, name: &str) -> String {
        format!(
            "{name} {:?} {}{}{}",
            self.kind,
            describe(&self.mode),
            self.id
                .as_ref()
                .map(|(_, v)| format!(" #{v}"))
                .unwrap_or_default(),
            if self.exclude_signature {
                " sans ds:Signature"
            } else {
                ""
            }
        )
    }

    /// lxml does not give the apex the xml:* attributes of its ancestors (Canonical XML 1.0
    /// and xmlsec1 do): such a comparison is meaningless (the libxml2 job covers it).
    pub fn comparable(&self, reference: &RefResult) -> bool {
        !(self.kind == RefKind::LxmlId
            && reference.ancestors_have_xml_attributes
            && matches!(self.mode, C14nMode::Inclusive { .. }))
    }
}

/// Runs all jobs in one Python process (tests/tools/c14n_ref.py).
pub fn run_reference_jobs(jobs: &[RefJob]) -> Vec<RefResult> {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut manifest = String::new();
    for (i, job) in jobs.iter().enumerate() {
        let (exclusive, with_comments, prefixes) = mode_fields(&job.mode);
        let (id_attr, id) = job
            .id
            .clone()
            .unwrap_or_else(|| ("-".to_owned(), "-".to_owned()));
        writeln!(
            manifest,
            "{i}\t{}\t{}\t{}\t{}\t{prefixes}\t{id_attr}\t{id}\t{}",
            job.kind.name(),
            job.file.display(),
            u8::from(exclusive),
            u8::from(with_comments),
            u8::from(job.exclude_signature)
        )
        .unwrap();
    }
    let manifest_path = dir.path().join("jobs.tsv");
    std::fs::write(&manifest_path, manifest).unwrap();
    let out_dir = dir.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let script = Path::new(MANIFEST_DIR).join("tests/tools/c14n_ref.py");
    let status = Command::new(python())
        .arg(script)
        .arg(&manifest_path)
        .arg(&out_dir)
        .status()
        .expect("python ne démarre pas");
    assert!(status.success(), "c14n_ref.py a échoué");
    (0..jobs.len())
        .map(|i| {
            let out = out_dir.join(format!("{i}.out"));
            let err = out_dir.join(format!("{i}.err"));
            let output =
                match std::fs::read(&out) {
                    Ok(bytes) => Ok(bytes),
                    Err(_) => Err(std::fs::read_to_string(&err)
                        .unwrap_or_else(|_| "pas de résultat".to_owned())),
                };
            RefResult {
                output,
                ancestors_have_xml_attributes: out_dir.join(format!("{i}.ancxml")).exists(),
            }
        })
        .collect()
}

/// lxml canonicalises an element that is not the root as the root of a copy of the document,
/// whose copied namespace declarations are not the ones the descendants point to; libxml2's
/// inclusive algorithm compares namespace nodes by identity, so lxml then writes spurious
/// declarations (`xmlns=""` on descendants of elements in an inherited default namespace,
/// superfluous redeclarations) — an lxml artefact: libxml2's own node-set API, which xmlsec1
/// uses, does not. True if namespace declarations are the only difference.
pub fn lxml_namespace_artefact(ours: &[u8], lxml: &[u8]) -> bool {
    fn strip(s: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(s.len());
        let mut i = 0;
        while i < s.len() {
            if s[i..].starts_with(b" xmlns=\"") || s[i..].starts_with(b" xmlns:") {
                // Skip to the closing quote of the value (namespace URIs hold no quote).
                match s[i..].iter().position(|&b| b == b'"') {
                    Some(open) => match s[i + open + 1..].iter().position(|&b| b == b'"') {
                        Some(close) => i += open + 1 + close + 1,
                        None => return s.to_vec(),
                    },
                    None => return s.to_vec(),
                }
            } else {
                out.push(s[i]);
                i += 1;
            }
        }
        out
    }
    ours != lxml && strip(ours) == strip(lxml)
}

/// Collects comparison failures and reports them together.
#[derive(Default)]
pub struct Report {
    pub compared: usize,
    /// lxml inclusive subtrees differing from us only by lxml's spurious declarations while
    /// libxml2's node-set canonicalisation of the same subtree equals ours.
    pub lxml_artefacts: usize,
    pub both_refused: usize,
    pub failures: Vec<String>,
}

impl Report {
    /// Compares our result with the reference's: same bytes, or both refuse.
    pub fn check(
        &mut self,
        what: &str,
        ours: &Result<Vec<u8>, C14nError>,
        reference: &Result<Vec<u8>, String>,
    ) {
        self.compared += 1;
        match (ours, reference) {
            (Ok(a), Ok(b)) if a == b => {}
            (Err(_), Err(_)) => self.both_refused += 1,
            (Ok(a), Ok(b)) => {
                let at = a
                    .iter()
                    .zip(b.iter())
                    .position(|(x, y)| x != y)
                    .unwrap_or(a.len().min(b.len()));
                let from = at.saturating_sub(60);
                self.failures.push(format!(
                    "{what}: différence à l'octet {at}\n  nous      : {:?}\n  référence : {:?}",
                    String::from_utf8_lossy(&a[from..(at + 60).min(a.len())]),
                    String::from_utf8_lossy(&b[from..(at + 60).min(b.len())]),
                ));
            }
            (Err(e), Ok(_)) => self
                .failures
                .push(format!("{what}: nous refusons ({e}), la référence accepte")),
            (Ok(_), Err(e)) => self.failures.push(format!(
                "{what}: nous acceptons, la référence refuse ({})",
                e.trim()
            )),
        }
    }

    /// Compares a whole series of jobs (an `LxmlId` job in inclusive mode may show lxml's
    /// artefact, tolerated when the `Libxml2Id` job of the same subtree agrees with us).
    pub fn check_jobs(
        &mut self,
        jobs: &[RefJob],
        refs: &[RefResult],
        mut bytes_of: impl FnMut(usize, &RefJob) -> (String, Vec<u8>),
    ) -> usize {
        let mut skipped = 0;
        let mut libxml2_agrees: Option<(String, bool)> = None;
        for (index, (job, reference)) in jobs.iter().zip(refs).enumerate() {
            if !job.comparable(reference) {
                skipped += 1;
                continue;
            }
            let (name, bytes) = bytes_of(index, job);
            let ours = job.ours(&bytes);
            let key = format!(
                "{} {:?} {:?} {}",
                name, job.mode, job.id, job.exclude_signature
            );
            if job.kind == RefKind::Libxml2Id {
                let agrees = matches!((&ours, &reference.output), (Ok(a), Ok(b)) if a == b);
                libxml2_agrees = Some((key.clone(), agrees));
            }
            if job.kind == RefKind::LxmlId
                && matches!(job.mode, C14nMode::Inclusive { .. })
                && libxml2_agrees.as_ref() == Some(&(key, true))
                && let (Ok(a), Ok(b)) = (&ours, &reference.output)
                && lxml_namespace_artefact(a, b)
            {
                self.compared += 1;
                self.lxml_artefacts += 1;
                continue;
            }
            let shown = if bytes.len() < 3000 {
                String::from_utf8_lossy(&bytes).into_owned()
            } else {
                String::new()
            };
            self.check(
                &format!("{}\n{shown}", job.describe(&name)),
                &ours,
                &reference.output,
            );
        }
        skipped
    }

    pub fn assert_ok(&self, label: &str) {
        eprintln!(
            "{label}: {} comparaisons, {} refus communs, {} artefacts lxml tolérés, {} échecs",
            self.compared,
            self.both_refused,
            self.lxml_artefacts,
            self.failures.len()
        );
        if !self.failures.is_empty() {
            let shown: Vec<&String> = self.failures.iter().take(15).collect();
            panic!(
                "{label}: {} différence(s) avec libxml2 :\n{}",
                self.failures.len(),
                shown
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join("\n")
            );
        }
    }
}

/// All the modes, with a few InclusiveNamespaces prefix lists.
pub fn modes(prefix_lists: &[&[&str]]) -> Vec<C14nMode> {
    let mut out = Vec::new();
    for with_comments in [false, true] {
        out.push(C14nMode::Inclusive { with_comments });
        for list in prefix_lists {
            out.push(C14nMode::Exclusive {
                with_comments,
                inclusive_prefixes: list.iter().map(|s| s.to_string()).collect(),
            });
        }
    }
    out
}

pub fn describe(mode: &C14nMode) -> String {
    match mode {
        C14nMode::Inclusive { with_comments } => {
            format!("c14n{}", if *with_comments { "+com" } else { "" })
        }
        C14nMode::Exclusive {
            with_comments,
            inclusive_prefixes,
        } => format!(
            "exc-c14n{}{}",
            if *with_comments { "+com" } else { "" },
            if inclusive_prefixes.is_empty() {
                String::new()
            } else {
                format!("[{}]", inclusive_prefixes.join(" "))
            }
        ),
    }
}

// ---------------------------------------------------------------------------------------------
// Generator of nasty documents

/// SplitMix64: deterministic, good enough.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
    /// True with probability `percent` %.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next_u64() % 100 < percent
    }
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// A generated document and what the tests need to know about it.
pub struct GeneratedDoc {
    pub seed: u64,
    pub bytes: Vec<u8>,
    pub latin1: bool,
    /// Values of the `Id` attributes (unique).
    pub ids: Vec<String>,
    /// Ids of the elements having a `ds:Signature` child.
    pub signed_ids: Vec<String>,
}

const DSIG: &str = "http://www.w3.org/2000/09/xmldsig#";

/// (URI as written in an attribute value, URI value)
const URIS: &[(&str, &str)] = &[
    ("http://example.com/a", "http://example.com/a"),
    ("http://example.com/b", "http://example.com/b"),
    ("urn:x-test:c", "urn:x-test:c"),
    (
        "http://example.com/q?x=1&amp;y=2",
        "http://example.com/q?x=1&y=2",
    ),
    (
        "http://example.com/%C3%A9t%C3%A9",
        "http://example.com/%C3%A9t%C3%A9",
    ),
    ("urn:ex:d'quote", "urn:ex:d'quote"),
    (
        "http://www.minefi.gouv.fr/cp/helios/pes_v2/Rev0/aller",
        "http://www.minefi.gouv.fr/cp/helios/pes_v2/Rev0/aller",
    ),
];
const PREFIXES: &[&str] = &["a", "b", "c", "ns1", "z"];
const LOCALS: &[&str] = &[
    "e",
    "f",
    "g",
    "élan",
    "Doc",
    "h-1",
    "i.j",
    "_k",
    "Bordereau",
];
const ATTR_LOCALS: &[&str] = &["x", "y", "attr", "z2", "Ö", "V", "a"];

struct Gen {
    rng: Rng,
    latin1: bool,
    out: String,
    next_id: usize,
    ids: Vec<String>,
    signed_ids: Vec<String>,
}

/// Namespace scope while generating: nearest declarations, prefix "" = default.
#[derive(Clone, Default)]
struct Scope {
    decls: Vec<(String, String)>, // (prefix, value)
}

impl Scope {
    fn lookup(&self, prefix: &str) -> Option<&str> {
        self.decls
            .iter()
            .rev()
            .find(|(p, _)| p == prefix)
            .map(|(_, u)| u.as_str())
    }
    fn prefixes(&self) -> Vec<String> {
        let mut seen = BTreeSet::new();
        for (p, _) in &self.decls {
            if !p.is_empty() {
                seen.insert(p.clone());
            }
        }
        seen.into_iter().collect()
    }
}

impl Gen {
    fn text_piece(&mut self) -> String {
        let mut pieces: Vec<&str> = vec![
            "abc",
            "été",
            "Ça va",
            "x>y",
            "a]]b",
            "]]&gt;",
            "&amp;",
            "&lt;",
            "&gt;",
            "&quot;",
            "&apos;",
            "&#xD;",
            "&#13;",
            "&#x9;",
            "&#10;",
            "&#233;",
            "&#x20AC;",
            "&#x1D11E;",
            "\r\n",
            "\r",
            "\n",
            "\t",
            "  ",
            "\"'",
        ];
        if !self.latin1 {
            pieces.extend(["€", "𝄞", "中文", "\u{80}", "œ?"]);
        } else {
            pieces.extend(["\u{80}", "ÿ", "\u{A0}"]);
        }
        let n = 1 + self.rng.below(4);
        (0..n).map(|_| *self.rng.pick(&pieces)).collect()
    }

    fn attr_value(&mut self, quote: char) -> String {
        let mut pieces: Vec<&str> = vec![
            "v", "été", "&amp;", "&lt;", "&gt;", "&quot;", "&apos;", "&#xD;", "&#x9;", "&#xA;",
            "&#233;", "&#38;", "&#60;", "\t", "\n", "\r\n", "\r", " x ", ">", "a  b",
        ];
        pieces.push(if quote == '"' { "'" } else { "\"" });
        if !self.latin1 {
            pieces.push("€𝄞");
        }
        let n = self.rng.below(4);
        (0..n).map(|_| *self.rng.pick(&pieces)).collect()
    }

    fn comment(&mut self) -> String {
        let pieces = ["c", " ", "a-b", "été", "\r\n", "<&>", "\t", "x"];
        let n = self.rng.below(4);
        let body: String = (0..n).map(|_| *self.rng.pick(&pieces)).collect();
        format!("<!--{body}-->")
    }

    fn pi(&mut self) -> String {
        let target = *self.rng.pick(&["tgt", "p-i", "xml-stylesheet", "T.2"]);
        match self.rng.below(4) {
            0 => format!("<?{target}?>"),
            1 => format!("<?{target} data?>"),
            2 => format!("<?{target}   spaced  data  ?>"),
            _ => format!("<?{target}\r\na\r\nb&c<d>?>"),
        }
    }

    fn quoted(&mut self, value_as_written: &str) -> String {
        if value_as_written.contains('\'') {
            format!("\"{value_as_written}\"")
        } else if self.rng.chance(50) {
            format!("'{value_as_written}'")
        } else {
            format!("\"{value_as_written}\"")
        }
    }

    fn element(&mut self, depth: usize, parent: &Scope, max_depth: usize) {
        let mut scope = parent.clone();
        let mut decls = String::new();
        // Namespace declarations
        if depth == 0 || self.rng.chance(35) {
            let n = 1 + self.rng.below(3);
            let mut declared = BTreeSet::new();
            for _ in 0..n {
                let prefix = if self.rng.chance(30) {
                    ""
                } else {
                    *self.rng.pick(PREFIXES)
                };
                if !declared.insert(prefix.to_owned()) {
                    continue;
                }
                // Redeclare with the same URI sometimes (superfluous declaration).
                let (written, value) = match scope.lookup(prefix) {
                    Some(current) if self.rng.chance(30) => {
                        let current = current.to_owned();
                        let w = URIS
                            .iter()
                            .find(|(_, v)| *v == current)
                            .map(|(w, _)| *w)
                            .unwrap_or("");
                        (w.to_owned(), current)
                    }
                    _ => {
                        let (w, v) = *self.rng.pick(URIS);
                        (w.to_owned(), v.to_owned())
                    }
                };
                let (written, value) = if prefix.is_empty() && self.rng.chance(30) {
                    (String::new(), String::new()) // xmlns=""
                } else {
                    (written, value)
                };
                if value.is_empty() && !prefix.is_empty() {
                    continue;
                }
                let q = self.quoted(&written);
                if prefix.is_empty() {
                    let _ = write!(decls, " xmlns={q}");
                } else {
                    let _ = write!(decls, " xmlns:{prefix}={q}");
                }
                scope.decls.push((prefix.to_owned(), value));
            }
        }
        if depth == 0 && self.rng.chance(50) && scope.lookup("ds").is_none() {
            let _ = write!(decls, " xmlns:ds=\"{DSIG}\"");
            scope.decls.push(("ds".to_owned(), DSIG.to_owned()));
        }
        // Element name
        let prefixes = scope.prefixes();
        let prefix = if !prefixes.is_empty() && self.rng.chance(40) {
            let p = self.rng.pick(&prefixes).clone();
            if p == "ds" { String::new() } else { p }
        } else {
            String::new()
        };
        let local = *self.rng.pick(LOCALS);
        let qname = if prefix.is_empty() {
            local.to_owned()
        } else {
            format!("{prefix}:{local}")
        };
        // Attributes, with distinct expanded names
        let mut attrs = String::new();
        let mut expanded: BTreeSet<(String, String)> = BTreeSet::new();
        let mut qnames: BTreeSet<String> = BTreeSet::new();
        let n_attrs = self.rng.below(5);
        for _ in 0..n_attrs {
            let local = *self.rng.pick(ATTR_LOCALS);
            let (aq, uri) = match self.rng.below(10) {
                0..=4 => (local.to_owned(), String::new()),
                5 | 6 if !prefixes.is_empty() => {
                    let p = self.rng.pick(&prefixes).clone();
                    let uri = scope.lookup(&p).unwrap_or("").to_owned();
                    (format!("{p}:{local}"), uri)
                }
                7 => ("xml:lang".to_owned(), "xml".to_owned()),
                8 => ("xml:space".to_owned(), "xml".to_owned()),
                _ => (
                    format!("xml:{}", self.rng.pick(&["base", "id", "lang"])),
                    "xml".to_owned(),
                ),
            };
            let lname = aq.rsplit(':').next().unwrap_or(&aq).to_owned();
            if qnames.contains(&aq) || !expanded.insert((uri, lname)) {
                continue;
            }
            qnames.insert(aq.clone());
            let quote = if self.rng.chance(50) { '"' } else { '\'' };
            let value = match aq.as_str() {
                "xml:space" => (*self.rng.pick(&["preserve", "default"])).to_owned(),
                "xml:lang" => (*self.rng.pick(&["fr", "en-GB", ""])).to_owned(),
                "xml:base" => (*self.rng.pick(&["http://example.com/base/", "sub/"])).to_owned(),
                // libxml2 reports a non-NCName or repeated xml:id (lxml then refuses the
                // document).
                "xml:id" => {
                    self.next_id += 1;
                    format!("{}{}", self.rng.pick(&["i", "x-", "_z."]), self.next_id)
                }
                _ => self.attr_value(quote),
            };
            let _ = write!(
                attrs,
                "{}{aq}={quote}{value}{quote}",
                self.rng.pick(&[" ", "  ", "\n ", "\t", "\r\n"])
            );
        }
        let mut id = None;
        if self.rng.chance(25) {
            let value = format!("id{}", self.next_id);
            self.next_id += 1;
            let _ = write!(attrs, " Id=\"{value}\"");
            self.ids.push(value.clone());
            id = Some(value);
        }
        // Order: declarations and attributes mixed
        let open = if self.rng.chance(50) {
            format!("<{qname}{decls}{attrs}")
        } else {
            format!("<{qname}{attrs}{decls}")
        };
        self.out.push_str(&open);
        let trailing = *self.rng.pick(&["", "", " ", "\n"]);
        let n_children = if depth >= max_depth {
            0
        } else {
            self.rng.below(6)
        };
        let sign = id.is_some() && self.rng.chance(40);
        if n_children == 0 && !sign && self.rng.chance(50) {
            let _ = write!(self.out, "{trailing}/>");
            return;
        }
        let _ = write!(self.out, "{trailing}>");
        for _ in 0..n_children {
            match self.rng.below(10) {
                0..=3 => self.element(depth + 1, &scope, max_depth),
                4 | 5 => {
                    let t = self.text_piece();
                    self.out.push_str(&t);
                }
                6 => {
                    let c = self.comment();
                    self.out.push_str(&c);
                }
                7 => {
                    let p = self.pi();
                    self.out.push_str(&p);
                }
                8 => {
                    let body = *self
                        .rng
                        .pick(&["<&>", "]]", "a]b", "\r\nx\ry", "", "é&amp;"]);
                    let _ = write!(self.out, "<![CDATA[{body}]]>");
                }
                _ => {
                    let w = *self.rng.pick(&["\n  ", "\r\n\t", " "]);
                    self.out.push_str(w);
                }
            }
        }
        if sign && let Some(id) = id {
            let ds = if scope.lookup("ds") == Some(DSIG) && self.rng.chance(50) {
                String::new()
            } else {
                format!(" xmlns:ds=\"{DSIG}\"")
            };
            let _ = write!(
                self.out,
                "<ds:Signature{ds} Id=\"{id}_SIG\"><ds:SignedInfo><ds:Reference URI=\"#{id}\"/></ds:SignedInfo><!--s--><ds:SignatureValue>AAAA\r\nBBBB</ds:SignatureValue></ds:Signature>"
            );
            if self.rng.chance(50) {
                self.out.push_str("\n ");
            }
            self.signed_ids.push(id);
        }
        let _ = write!(self.out, "</{qname}{}>", self.rng.pick(&["", "", " "]));
    }

    fn misc(&mut self) {
        for _ in 0..self.rng.below(4) {
            match self.rng.below(3) {
                0 => {
                    let c = self.comment();
                    self.out.push_str(&c);
                }
                1 => {
                    let p = self.pi();
                    self.out.push_str(&p);
                }
                _ => {
                    let w = *self.rng.pick(&["\n", "\r\n", " ", "\t\n"]);
                    self.out.push_str(w);
                }
            }
        }
    }
}

/// A deterministic nasty document for `seed`.
pub fn generate(seed: u64) -> GeneratedDoc {
    let mut rng = Rng::new(seed);
    let latin1 = rng.chance(35);
    let mut g = Gen {
        rng,
        latin1,
        out: String::new(),
        next_id: 0,
        ids: Vec::new(),
        signed_ids: Vec::new(),
    };
    if latin1 {
        let enc = *g.rng.pick(&["ISO-8859-1", "iso-8859-1", "latin1"]);
        let _ = write!(g.out, "<?xml version=\"1.0\" encoding=\"{enc}\"?>");
    } else {
        match g.rng.below(3) {
            0 => {}
            1 => g
                .out
                .push_str("<?xml version='1.0' encoding='UTF-8' standalone='yes'?>"),
            _ => g.out.push_str("<?xml version=\"1.0\"?>"),
        }
    }
    g.misc();
    let max_depth = if seed % 10 == 7 {
        0
    } else {
        2 + g.rng.below(5)
    };
    if seed % 10 == 7 {
        // Deep nesting (libxml2's limit without XML_PARSE_HUGE is 256).
        let depth = 150;
        for i in 0..depth {
            let _ = write!(
                g.out,
                "<d{}{}>",
                i % 7,
                if i % 13 == 0 {
                    " xmlns=\"urn:deep\""
                } else if i % 13 == 6 {
                    " xmlns=\"\""
                } else {
                    ""
                }
            );
        }
        g.element(0, &Scope::default(), 3);
        for i in (0..depth).rev() {
            let _ = write!(g.out, "</d{}>", i % 7);
        }
    } else {
        g.element(0, &Scope::default(), max_depth);
    }
    g.misc();
    let bytes = if latin1 {
        g.out
            .chars()
            .map(|c| {
                u8::try_from(u32::from(c)).expect("caractère hors Latin-1 dans un document Latin-1")
            })
            .collect()
    } else {
        g.out.into_bytes()
    };
    GeneratedDoc {
        seed,
        bytes,
        latin1,
        ids: g.ids,
        signed_ids: g.signed_ids,
    }
}
