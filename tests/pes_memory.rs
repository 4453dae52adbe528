//! Memory stays bounded when reading a large PES (alone in its process: peak RSS is per process).

use paraphe::pes::read_summary;
use std::io::Read;

const HEAD: &str = r#"<?xml version="1.0" encoding="ISO-8859-1"?>
<n:PES_Aller xmlns:n="http://www.minefi.gouv.fr/cp/helios/pes_v2/Rev0/aller" Id="F1">
<Enveloppe><Parametres><Version V="2"/><TypFic V="PESALR2"/><NomFic V="essai"/></Parametres></Enveloppe>
<EnTetePES><DteStr V="2026-11-27"/><IdPost V="034000"/><IdColl V="21340172200016"/><CodCol V="123"/></EnTetePES>
<PES_DepenseAller><EnTeteDepense><IdVer V="2"/><InfoDematerialisee V="1"/></EnTeteDepense>
"#;

fn bordereau(id: &str, nbr: u32, amounts: &[&str]) -> String {
    let total: f64 = amounts
        .iter()
        .map(|a| a.parse::<f64>().expect("amount"))
        .sum();
    let mut s = format!(
        "<Bordereau Id=\"{id}\"><BlocBordereau><Exer V=\"2026\"/><IdBord V=\"7\"/><DteBordEm V=\"2026-11-27\"/><TypBord V=\"01\"/><NbrPce V=\"{nbr}\"/><MtBordHT V=\"{total:.2}\"/></BlocBordereau>"
    );
    for (i, a) in amounts.iter().enumerate() {
        s.push_str(&format!(
            "<Piece><BlocPiece><InfoPce><IdPce V=\"{i}\"/><TypPce V=\"01\"/><NatPce V=\"01\"/><Obj V=\"Fournitures é\"/></InfoPce></BlocPiece><LigneDePiece><BlocLignePiece><InfoLignePce><IdLigne V=\"1\"/><MtHT V=\"{a}\"/></InfoLignePce></BlocLignePiece><Tiers><InfoTiers><Nom V=\"Papeterie &amp; Cie\"/></InfoTiers></Tiers></LigneDePiece></Piece>"
        ));
    }
    s.push_str("</Bordereau>");
    s
}

fn latin1(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| u8::try_from(u32::from(c)).expect("latin-1 text"))
        .collect()
}

/// A PES_Aller of about `target` bytes produced on the fly, never held in memory.
struct Generated {
    parts: Box<dyn Iterator<Item = Vec<u8>>>,
    current: Vec<u8>,
    pos: usize,
}

impl Generated {
    fn new(bordereaux: usize) -> Self {
        let one = bordereau("X", 100, &["12.34"; 100]);
        let body: Box<dyn Iterator<Item = Vec<u8>>> = Box::new(
            (0..bordereaux).map(move |i| latin1(&one.replace("Id=\"X\"", &format!("Id=\"B{i}\"")))),
        );
        let head = latin1(HEAD);
        let tail = b"</PES_DepenseAller></n:PES_Aller>".to_vec();
        Generated {
            parts: Box::new(std::iter::once(head).chain(body.chain(std::iter::once(tail)))),
            current: Vec::new(),
            pos: 0,
        }
    }
}

impl Read for Generated {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.pos >= self.current.len() {
            match self.parts.next() {
                Some(next) => {
                    self.current = next;
                    self.pos = 0;
                }
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len() - self.pos);
        buf[..n].copy_from_slice(&self.current[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

#[test]
fn memory_stays_bounded_on_a_large_file() {
    // ~2,000 bordereaux of 100 pieces: about 100 MB of XML streamed through the reader.
    let before = peak_rss_kb();
    let summary = read_summary(std::io::BufReader::new(Generated::new(2000))).expect("read");
    assert_eq!(summary.bordereaux.len(), 2000);
    assert_eq!(summary.bordereaux[1999].nb_pieces_calcule, 100);
    assert!(
        summary.pieces_tronquees,
        "200,000 pieces exceed the detail limit"
    );
    let grown_mb = (peak_rss_kb().saturating_sub(before)) / 1024;
    // Neither the file (≈100 MB) nor the details of its 200,000 pieces may be held.
    assert!(grown_mb < 64, "peak memory grew by {grown_mb} MB");
}
