//! Amounts in PES files: decimal text (`75724.75`) held exactly in cents, shown the French way
//! (`75 724,75 €`).

use serde::Serialize;

/// An amount in cents. Exact: totals are compared to the cent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Hash)]
pub struct Amount(pub i128);

impl Amount {
    /// Parse `-123.4`, `0.05`, `12` (a PES decimal with at most 2 decimals).
    pub fn parse(text: &str) -> Option<Amount> {
        let text = text.trim();
        let (negative, digits) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text.strip_prefix('+').unwrap_or(text)),
        };
        let (int_part, frac_part) = match digits.split_once('.') {
            Some((i, f)) => (i, f),
            None => (digits, ""),
        };
        if int_part.is_empty() && frac_part.is_empty() {
            return None;
        }
        if frac_part.len() > 2
            || !int_part.bytes().all(|b| b.is_ascii_digit())
            || !frac_part.bytes().all(|b| b.is_ascii_digit())
            || int_part.len() > 30
        {
            return None;
        }
        let int: i128 = if int_part.is_empty() {
            0
        } else {
            int_part.parse().ok()?
        };
        let frac: i128 = match frac_part.len() {
            0 => 0,
            1 => frac_part.parse::<i128>().ok()? * 10,
            _ => frac_part.parse().ok()?,
        };
        let cents = int.checked_mul(100)?.checked_add(frac)?;
        Some(Amount(if negative { -cents } else { cents }))
    }

    pub fn cents(&self) -> i128 {
        self.0
    }

    /// `1 234,56 €`
    pub fn french(&self) -> String {
        let abs = self.0.unsigned_abs();
        let units = (abs / 100).to_string();
        let mut grouped = String::new();
        for (i, c) in units.chars().enumerate() {
            if i > 0 && (units.len() - i).is_multiple_of(3) {
                grouped.push('\u{202f}');
            }
            grouped.push(c);
        }
        let sign = if self.0 < 0 { "-" } else { "" };
        format!("{sign}{grouped},{:02} €", abs % 100)
    }

    /// `1234.56`, for JSON and files.
    pub fn decimal(&self) -> String {
        let abs = self.0.unsigned_abs();
        let sign = if self.0 < 0 { "-" } else { "" };
        format!("{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

impl std::ops::AddAssign for Amount {
    fn add_assign(&mut self, rhs: Amount) {
        self.0 = self.0.saturating_add(rhs.0);
    }
}

impl Serialize for Amount {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.decimal())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_pes_decimals_exactly() {
        assert_eq!(Amount::parse("75724.75"), Some(Amount(7_572_475)));
        assert_eq!(Amount::parse("12"), Some(Amount(1200)));
        assert_eq!(Amount::parse("0.5"), Some(Amount(50)));
        assert_eq!(Amount::parse("-3.07"), Some(Amount(-307)));
        assert_eq!(Amount::parse(".5"), Some(Amount(50)));
        for bad in ["", "1,5", "1.234", "abc", "1e3", "-", "."] {
            assert_eq!(Amount::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn french_display() {
        assert_eq!(Amount(123_456).french(), "1\u{202f}234,56 €");
        assert_eq!(Amount(-5).french(), "-0,05 €");
        assert_eq!(Amount(100_000_000).french(), "1\u{202f}000\u{202f}000,00 €");
        assert_eq!(Amount(-123_456).decimal(), "-1234.56");
    }
}
