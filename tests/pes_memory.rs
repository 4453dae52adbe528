//! Memory stays bounded when reading a large PES (alone in its process: peak RSS is per process).

use paraphe::pes::read_summary;
use std::io::Read;

mod common;

use common::pes::{HEAD, bordereau, latin1};

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
