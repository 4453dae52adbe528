//! Findings: what a check says about a document, in French, with where it applies. Errors block
//! the next step (signing, sending); warnings inform.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Bloquant,
    Avertissement,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Location {
    /// 1-based line in the file, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ligne: Option<u64>,
    /// Byte offset in the file (turned into a line number after the pass).
    #[serde(skip)]
    pub offset: Option<u64>,
    /// The element concerned, e.g. `Bordereau[Id=BORD12]/Piece[3]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub element: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Stable identifier for scripts, e.g. `pes.total_bordereau`.
    pub code: &'static str,
    pub gravite: Severity,
    pub message: String,
    pub lieu: Location,
}

impl Finding {
    pub fn blocking(code: &'static str, message: String, lieu: Location) -> Self {
        Finding {
            code,
            gravite: Severity::Bloquant,
            message,
            lieu,
        }
    }

    pub fn warning(code: &'static str, message: String, lieu: Location) -> Self {
        Finding {
            code,
            gravite: Severity::Avertissement,
            message,
            lieu,
        }
    }

    pub fn is_blocking(&self) -> bool {
        self.gravite == Severity::Bloquant
    }
}

/// Fill in line numbers from byte offsets with one sequential pass over the source.
pub fn resolve_lines(
    findings: &mut [Finding],
    source: &mut dyn std::io::Read,
) -> std::io::Result<()> {
    let mut wanted: Vec<(u64, usize)> = findings
        .iter()
        .enumerate()
        .filter_map(|(i, f)| f.lieu.offset.map(|o| (o, i)))
        .collect();
    if wanted.is_empty() {
        return Ok(());
    }
    wanted.sort_unstable();
    let mut buf = vec![0u8; 64 * 1024];
    let (mut pos, mut line, mut next) = (0u64, 1u64, 0usize);
    loop {
        let n = source.read(&mut buf)?;
        for &byte in &buf[..n] {
            while next < wanted.len() && wanted[next].0 <= pos {
                findings[wanted[next].1].lieu.ligne = Some(line);
                next += 1;
            }
            if byte == b'\n' {
                line += 1;
            }
            pos += 1;
        }
        if n == 0 || next >= wanted.len() {
            break;
        }
    }
    while next < wanted.len() {
        findings[wanted[next].1].lieu.ligne = Some(line);
        next += 1;
    }
    Ok(())
}
