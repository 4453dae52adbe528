//! Memory bound of the streaming canonicaliser: a 50 MB PES-like document, produced on the fly
//! by a `Read` generator (never held in memory), is canonicalised — whole, and as the subtree of
//! its `Bordereau` with the enveloped signature left out — into a hashing sink. The peak resident
//! memory of the process (VmHWM) must grow by less than 32 MB: the document is not retained.
//!
//! Alone in its test binary so that no other test disturbs the measure.

use std::io::{self, Read, Write};

use paraphe::xml::{C14nMode, canonicalize_element_by_id_to, canonicalize_to};

const TARGET_SIZE: u64 = 50 * 1024 * 1024;

/// Produces a PES_Aller with one huge Bordereau (ISO-8859-1, entities, char references, CDATA,
/// comments), ending with an enveloped `ds:Signature`.
struct PesGenerator {
    pending: Vec<u8>,
    pos: usize,
    produced: u64,
    block: u64,
    stage: u8,
}

impl PesGenerator {
    fn new() -> Self {
        PesGenerator {
            pending: Vec::new(),
            pos: 0,
            produced: 0,
            block: 0,
            stage: 0,
        }
    }

    fn next_chunk(&mut self) -> bool {
        self.pending.clear();
        self.pos = 0;
        match self.stage {
            0 => {
                self.pending.extend_from_slice(
                    b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<n:PES_Aller xmlns:n=\"http://www.minefi.gouv.fr/cp/helios/pes_v2/Rev0/aller\" xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\" xmlns:xad=\"http://uri.etsi.org/01903/v1.1.1#\" Id=\"PES\">\n <PES_DepenseAller>\n  <Bordereau Id=\"BORD1\" xml:lang=\"fr\">\n",
                );
                self.stage = 1;
            }
            1 => {
                let i = self.block;
                self.block += 1;
                let p = &mut self.pending;
                let _ = write!(
                    p,
                    "   <Piece><BlocPiece><IdPce V=\"{i}\"/><Obj V=\"Fournitures "
                );
                p.extend_from_slice(b"\xe9t\xe9 &amp; divers\r\n\"/></BlocPiece><!-- pi\xe8ce ");
                let _ = write!(p, "{i} --><LigneDePiece><Mt V='12.50'/>Texte ");
                p.extend_from_slice(b"\xe0 \xe9 &#233; &lt;");
                let _ = write!(p, "{i}&gt;<![CDATA[<&>]]></LigneDePiece></Piece>\r\n");
                if self.produced + self.pending.len() as u64 >= TARGET_SIZE {
                    self.stage = 2;
                }
            }
            2 => {
                self.pending.extend_from_slice(
                    b"  <ds:Signature Id=\"BORD1_SIG\"><ds:SignedInfo><ds:Reference URI=\"#BORD1\"/></ds:SignedInfo></ds:Signature></Bordereau>\n </PES_DepenseAller>\n</n:PES_Aller>\n",
                );
                self.stage = 3;
            }
            _ => return false,
        }
        true
    }
}

impl Read for PesGenerator {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos == self.pending.len() && !self.next_chunk() {
            return Ok(0);
        }
        let n = buf.len().min(self.pending.len() - self.pos);
        buf[..n].copy_from_slice(&self.pending[self.pos..self.pos + n]);
        self.pos += n;
        self.produced += n as u64;
        Ok(n)
    }
}

/// Hashes and counts what it is given (what the PES signer does with the canonical form).
struct HashSink {
    hasher: openssl::sha::Sha256,
    written: u64,
}

impl Write for HashSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.hasher.update(buf);
        self.written += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn sink() -> HashSink {
    HashSink {
        hasher: openssl::sha::Sha256::new(),
        written: 0,
    }
}

/// Peak resident set size of the process, in kB.
fn vm_hwm_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

#[test]
fn fifty_megabytes_are_canonicalised_in_bounded_memory() {
    let Some(_) = vm_hwm_kb() else {
        if std::env::var_os("CI").is_some() {
            panic!("/proc/self/status est illisible : la mesure mémoire est impossible");
        }
        eprintln!("!!! TEST SAUTÉ : pas de /proc/self/status (Linux requis)");
        return;
    };
    let mode = C14nMode::Exclusive {
        with_comments: false,
        inclusive_prefixes: vec![],
    };
    // Warm-up on a small document, then reset the peak if the kernel allows it.
    let small = b"<r><a>x</a></r>";
    canonicalize_to(&small[..], &mode, sink()).unwrap();
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let before = vm_hwm_kb().unwrap();

    let whole = canonicalize_to(PesGenerator::new(), &mode, sink()).unwrap();
    let incl = C14nMode::Inclusive {
        with_comments: false,
    };
    let bordereau =
        canonicalize_element_by_id_to(PesGenerator::new(), "Id", "BORD1", &incl, true, sink())
            .unwrap();

    let after = vm_hwm_kb().unwrap();
    let growth_mb = (after.saturating_sub(before)) as f64 / 1024.0;
    eprintln!(
        "document de {} Mo ; forme canonique : {} Mo (entier), {} Mo (bordereau) ; VmHWM {before} kB -> {after} kB (+{growth_mb:.1} Mo)",
        TARGET_SIZE / (1024 * 1024),
        whole.written / (1024 * 1024),
        bordereau.written / (1024 * 1024),
    );
    assert!(whole.written > TARGET_SIZE / 2);
    assert!(bordereau.written > TARGET_SIZE / 2);
    assert!(
        growth_mb < 32.0,
        "la mémoire a crû de {growth_mb:.1} Mo pour un document de 50 Mo : il est retenu"
    );
    // A check that the work was done: 32-byte digests of what was written.
    assert_eq!(whole.hasher.finish().len(), 32);
    assert_eq!(bordereau.hasher.finish().len(), 32);
}
