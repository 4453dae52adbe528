//! A DER reader over bytes held in memory, for the small parts of CMS structures (recipients,
//! algorithm parameters, signer infos). Our own rather than a crate's, because the same walk must
//! also serve the streaming envelope reader, where only bounded parts are ever in memory.

/// Why a DER value could not be read (its text goes inside a French sentence).
#[derive(Debug, Clone)]
pub struct DerError(pub String);

/// Elements of a DER value held in memory (the head's parts).
pub struct Der<'a> {
    rest: &'a [u8],
}

impl<'a> Der<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Der { rest: bytes }
    }

    pub fn is_empty(&self) -> bool {
        self.rest.is_empty()
    }

    pub fn peek_tag(&self) -> Option<u8> {
        self.rest.first().copied()
    }

    /// The next element: (tag, its whole encoding, its value).
    pub fn element(&mut self) -> Result<(u8, &'a [u8], &'a [u8]), DerError> {
        let bad = || DerError("élément DER incomplet".to_owned());
        let tag = *self.rest.first().ok_or_else(bad)?;
        let first = *self.rest.get(1).ok_or_else(bad)?;
        let (len, header) = if first < 0x80 {
            (usize::from(first), 2)
        } else {
            let count = usize::from(first & 0x7f);
            if count == 0 || count > 4 {
                return Err(bad());
            }
            let mut len = 0usize;
            for i in 0..count {
                len = (len << 8) | usize::from(*self.rest.get(2 + i).ok_or_else(bad)?);
            }
            (len, 2 + count)
        };
        let end = header.checked_add(len).ok_or_else(bad)?;
        if end > self.rest.len() {
            return Err(bad());
        }
        let whole = &self.rest[..end];
        let value = &self.rest[header..end];
        self.rest = &self.rest[end..];
        Ok((tag, whole, value))
    }

    pub fn expect(&mut self, tag: u8) -> Result<&'a [u8], DerError> {
        let (found, _, value) = self.element()?;
        if found != tag {
            return Err(DerError(format!(
                "étiquette {tag:#04x} attendue, {found:#04x} trouvée"
            )));
        }
        Ok(value)
    }
}

/// Dotted form of an OID's content bytes, for messages.
pub fn dotted(oid: &[u8]) -> String {
    let mut parts = Vec::new();
    let mut value = 0u64;
    for (i, b) in oid.iter().enumerate() {
        value = (value << 7) | u64::from(b & 0x7f);
        if b & 0x80 == 0 {
            if parts.is_empty() && i < oid.len() {
                let first = (value / 40).min(2);
                parts.push(first.to_string());
                parts.push((value - first * 40).to_string());
            } else {
                parts.push(value.to_string());
            }
            value = 0;
        }
    }
    parts.join(".")
}
