//! gob's primitive encodings: unsigned and signed varints, booleans, floats, and
//! length-prefixed byte strings; a bounds-checked reader over one message.
//!
//! An unsigned integer below 128 is one byte; otherwise one byte holding the negated byte count
//! (1 to 8), then the value big-endian. A signed integer `i` travels as the unsigned `i << 1`,
//! or `(!i << 1) | 1` when negative. A float is its IEEE-754 bits byte-reversed, as an unsigned.

use super::GobError;

/// Appends the unsigned integer `x`.
pub fn put_uint(out: &mut Vec<u8>, x: u64) {
    if x < 0x80 {
        out.push(x as u8);
        return;
    }
    let bytes = x.to_be_bytes();
    let skip = (x.leading_zeros() / 8) as usize;
    let count = 8 - skip;
    out.push((count as u8).wrapping_neg());
    out.extend_from_slice(&bytes[skip..]);
}

/// Appends the signed integer `i`.
pub fn put_int(out: &mut Vec<u8>, i: i64) {
    let u = if i < 0 { (!(i as u64) << 1) | 1 } else { (i as u64) << 1 };
    put_uint(out, u);
}

/// Appends a string or byte slice: its length, then its bytes.
pub fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_uint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// Turns an unsigned wire value into the signed integer it carries.
pub fn uint_to_int(x: u64) -> i64 {
    let i = (x >> 1) as i64;
    if x & 1 != 0 { !i } else { i }
}

/// Reads an unsigned integer at the start of `bytes`: `Ok(None)` when `bytes` ends first,
/// else the value and how many bytes it took.
pub fn read_uint_prefix(bytes: &[u8]) -> Result<Option<(u64, usize)>, GobError> {
    let Some(&first) = bytes.first() else { return Ok(None) };
    if first < 0x80 {
        return Ok(Some((u64::from(first), 1)));
    }
    let count = usize::from(first.wrapping_neg());
    if count > 8 {
        return Err(GobError::BadUint { first });
    }
    let Some(body) = bytes.get(1..1 + count) else { return Ok(None) };
    let value = body.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
    Ok(Some((value, 1 + count)))
}

/// A bounds-checked cursor over the bytes of one message.
#[derive(Debug, Clone, Copy)]
pub struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes }
    }

    pub fn remaining(&self) -> usize {
        self.bytes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    pub fn uint(&mut self) -> Result<u64, GobError> {
        match read_uint_prefix(self.bytes)? {
            Some((value, used)) => {
                self.bytes = &self.bytes[used..];
                Ok(value)
            }
            None => Err(GobError::UnexpectedEnd { reading: "an unsigned integer" }),
        }
    }

    pub fn int(&mut self) -> Result<i64, GobError> {
        self.uint().map(uint_to_int)
    }

    pub fn bool(&mut self) -> Result<bool, GobError> {
        match self.uint()? {
            0 => Ok(false),
            1 => Ok(true),
            other => Err(GobError::BadBool(other)),
        }
    }

    pub fn float(&mut self) -> Result<f64, GobError> {
        self.uint().map(|bits| f64::from_bits(bits.swap_bytes()))
    }

    /// `n` raw bytes; fails when fewer remain.
    pub fn take(&mut self, n: u64, reading: &'static str) -> Result<&'a [u8], GobError> {
        let remaining = self.bytes.len();
        let n = usize::try_from(n).ok().filter(|&n| n <= remaining).ok_or(GobError::LengthBeyondMessage {
            reading,
            length: n,
            remaining,
        })?;
        let (taken, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(taken)
    }

    /// A length-prefixed byte string.
    pub fn bytes(&mut self, reading: &'static str) -> Result<&'a [u8], GobError> {
        let n = self.uint()?;
        self.take(n, reading)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uint(x: u64) -> Vec<u8> {
        let mut out = Vec::new();
        put_uint(&mut out, x);
        out
    }

    fn int(i: i64) -> Vec<u8> {
        let mut out = Vec::new();
        put_int(&mut out, i);
        out
    }

    #[test]
    fn unsigned_integers_match_the_examples_of_gobs_documentation() {
        assert_eq!(uint(0), [0x00]);
        assert_eq!(uint(7), [0x07]);
        assert_eq!(uint(127), [0x7f]);
        assert_eq!(uint(128), [0xff, 0x80]);
        assert_eq!(uint(256), [0xfe, 0x01, 0x00]);
        assert_eq!(uint(u64::MAX), [0xf8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    }

    #[test]
    fn signed_integers_match_the_examples_of_gobs_documentation() {
        assert_eq!(int(-129), [0xfe, 0x01, 0x01]);
        assert_eq!(int(-65), [0xff, 0x81]);
        assert_eq!(int(65), [0xff, 0x82]);
        assert_eq!(int(22), [0x2c]);
        assert_eq!(int(i64::MIN), [0xf8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    }

    #[test]
    fn integers_round_trip() {
        for i in [0, 1, -1, 63, -64, 64, 127, 128, -129, 1 << 40, i64::MAX, i64::MIN] {
            assert_eq!(Reader::new(&int(i)).int().unwrap(), i, "{i}");
        }
        for x in [0, 1, 127, 128, 255, 256, 1 << 56, u64::MAX] {
            assert_eq!(Reader::new(&uint(x)).uint().unwrap(), x, "{x}");
        }
    }

    #[test]
    fn floats_are_byte_reversed_bits() {
        // 17.0 is (FE 31 40) in gob's documentation.
        assert_eq!(Reader::new(&[0xfe, 0x31, 0x40]).float().unwrap(), 17.0);
    }

    #[test]
    fn truncated_and_oversized_input_fails_without_panicking() {
        assert!(matches!(Reader::new(&[]).uint(), Err(GobError::UnexpectedEnd { .. })));
        assert!(matches!(Reader::new(&[0xfe, 0x01]).uint(), Err(GobError::UnexpectedEnd { .. })));
        assert!(matches!(Reader::new(&[0xf7]).uint(), Err(GobError::BadUint { first: 0xf7 })));
        assert!(matches!(Reader::new(&[0x05, b'a']).bytes("a string"), Err(GobError::LengthBeyondMessage { .. })));
        assert!(matches!(Reader::new(&[0x02]).bool(), Err(GobError::BadBool(2))));
        assert_eq!(read_uint_prefix(&[0xfe, 0x01]).unwrap(), None);
    }
}
