//! A bounds-checked reader over event bytes: every read returns an error instead of
//! panicking when the event is shorter than its format says.

/// Reads little-endian integers, length-encoded integers and byte runs.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

/// A read past the end of an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Short(pub &'static str);

impl std::fmt::Display for Short {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "event too short while reading {}", self.0)
    }
}

impl<'a> Reader<'a> {
    /// A reader at the start of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// True when everything was read.
    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// The next `n` bytes.
    pub fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], Short> {
        let end = self.pos.checked_add(n).ok_or(Short(what))?;
        let s = self.buf.get(self.pos..end).ok_or(Short(what))?;
        self.pos = end;
        Ok(s)
    }

    /// Everything left.
    pub fn rest(&mut self) -> &'a [u8] {
        let s = &self.buf[self.pos..];
        self.pos = self.buf.len();
        s
    }

    /// One byte.
    pub fn u8(&mut self, what: &'static str) -> Result<u8, Short> {
        Ok(self.take(1, what)?[0])
    }

    /// An unsigned little-endian integer of `n` ≤ 8 bytes.
    pub fn uint_le(&mut self, n: usize, what: &'static str) -> Result<u64, Short> {
        let b = self.take(n, what)?;
        Ok(b.iter()
            .rev()
            .fold(0u64, |acc, &x| (acc << 8) | u64::from(x)))
    }

    /// An unsigned big-endian integer of `n` ≤ 8 bytes.
    pub fn uint_be(&mut self, n: usize, what: &'static str) -> Result<u64, Short> {
        let b = self.take(n, what)?;
        Ok(b.iter().fold(0u64, |acc, &x| (acc << 8) | u64::from(x)))
    }

    /// A length-encoded integer (1, 3, 4 or 9 bytes).
    pub fn lenenc(&mut self, what: &'static str) -> Result<u64, Short> {
        match self.u8(what)? {
            0xfc => self.uint_le(2, what),
            0xfd => self.uint_le(3, what),
            0xfe => self.uint_le(8, what),
            b => Ok(u64::from(b)),
        }
    }

    /// A length-encoded byte string.
    pub fn lenenc_bytes(&mut self, what: &'static str) -> Result<&'a [u8], Short> {
        let n = usize::try_from(self.lenenc(what)?).map_err(|_| Short(what))?;
        self.take(n, what)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_refuses_short_input() {
        let mut r = Reader::new(&[0x01, 0x02, 0x03, 0xfc, 0x10, 0x00, 9]);
        assert_eq!(r.uint_le(2, "a"), Ok(0x0201));
        assert_eq!(r.uint_be(1, "b"), Ok(3));
        assert_eq!(r.lenenc("c"), Ok(16));
        assert_eq!(r.u8("d"), Ok(9));
        assert!(r.is_empty());
        assert_eq!(r.u8("e"), Err(Short("e")));
    }
}
