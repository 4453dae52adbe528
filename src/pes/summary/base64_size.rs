//! The decoded size of a PJ's base64 content, counted as it streams by (never decoded, never
//! kept), and whether that content is garbage.

/// Counts the decoded size of base64 text fed in pieces, and notices garbage.
#[derive(Default)]
pub(super) struct Base64Counter {
    symbols: u64,
    padding: u64,
    pub(super) invalid: bool,
}

impl Base64Counter {
    pub(super) fn feed(&mut self, text: &[u8]) {
        // Fast path while no padding was seen: 64-byte chunks holding only symbols and white
        // space are counted without branches, with comparisons the compiler turns into SIMD
        // (a lookup table would not vectorise); any other chunk (and the tail) goes byte by
        // byte. This runs over every byte of every PJ.
        let mut rest = text;
        while self.padding == 0 && rest.len() >= 64 {
            let (chunk, tail) = rest.split_at(64);
            let mut symbols = 0u8;
            let mut other = 0u8;
            for &b in chunk {
                let alpha = (b | 0x20).wrapping_sub(b'a') < 26;
                let digit = b.wrapping_sub(b'0') < 10;
                let symbol = alpha | digit | (b == b'+') | (b == b'/');
                let space = (b == b'\n') | (b == b'\r') | (b == b' ') | (b == b'\t');
                symbols += u8::from(symbol);
                other |= u8::from(!(symbol | space));
            }
            if other != 0 {
                break;
            }
            self.symbols += u64::from(symbols);
            rest = tail;
        }
        for &b in rest {
            match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'+' | b'/' => {
                    if self.padding > 0 {
                        self.invalid = true;
                    }
                    self.symbols += 1;
                }
                b'=' => self.padding += 1,
                b' ' | b'\t' | b'\r' | b'\n' => {}
                _ => self.invalid = true,
            }
        }
    }

    pub(super) fn finish(&mut self) -> (u64, bool) {
        let total = self.symbols + self.padding;
        let invalid = self.invalid || !total.is_multiple_of(4) || self.padding > 2;
        let size = (self.symbols * 6) / 8;
        *self = Base64Counter::default();
        (size, invalid)
    }
}

#[cfg(test)]
mod tests {
    use super::Base64Counter;
    use base64::Engine;

    /// The counter agrees with a real decoder on sizes, line breaks anywhere, every padding,
    /// and notices garbage wherever it is (inside a 64-byte chunk or in the tail).
    #[test]
    fn base64_counter_agrees_with_a_decoder() {
        let engine = base64::engine::general_purpose::STANDARD;
        for len in [0usize, 1, 2, 3, 47, 48, 49, 1000, 4097] {
            let data: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
            let encoded = engine.encode(&data);
            for width in [64usize, 76, 13] {
                let wrapped: Vec<u8> = encoded
                    .as_bytes()
                    .chunks(width)
                    .flat_map(|l| l.iter().copied().chain(*b"\r\n"))
                    .collect();
                for piece in [7usize, 64, 1 << 20] {
                    let mut counter = Base64Counter::default();
                    for part in wrapped.chunks(piece) {
                        counter.feed(part);
                    }
                    assert_eq!(
                        counter.finish(),
                        (len as u64, false),
                        "{len} {width} {piece}"
                    );
                }
                for at in [0usize, wrapped.len() / 2, wrapped.len().saturating_sub(1)] {
                    if wrapped.is_empty() {
                        continue;
                    }
                    let mut bad = wrapped.clone();
                    bad[at] = b'*';
                    let mut counter = Base64Counter::default();
                    counter.feed(&bad);
                    assert!(counter.finish().1, "garbage at {at} of {len}");
                }
            }
        }
    }
}
