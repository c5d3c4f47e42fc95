//! A strict CBOR (RFC 8949) decoder and a small encoder, enough for COSE and the Nitro
//! attestation document. Definite lengths only, canonical-size heads only where the input is
//! attacker-controlled, bounded depth and item counts, no floats: anything else is refused with
//! the offset.

use std::fmt;

/// Nesting depth accepted.
pub(crate) const MAX_DEPTH: usize = 16;
/// Items (array elements plus map entries) accepted in one document.
pub(crate) const MAX_ITEMS: usize = 4096;

/// A decoded CBOR data item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// An unsigned integer (major type 0).
    Uint(u64),
    /// A negative integer `-1 - n`, stored as `n`.
    Nint(u64),
    /// A byte string (major type 2).
    Bytes(Vec<u8>),
    /// A UTF-8 text string (major type 3).
    Text(String),
    /// An array (major type 4).
    Array(Vec<Value>),
    /// A map (major type 5), its entries in the order of the input.
    Map(Vec<(Value, Value)>),
    /// A tagged item (major type 6): the tag number and the item.
    Tag(u64, Box<Value>),
    /// `true` or `false` (simple values 21 and 20).
    Bool(bool),
    /// `null` (simple value 22).
    Null,
}

impl Value {
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Value::Uint(_) => "unsigned integer",
            Value::Nint(_) => "negative integer",
            Value::Bytes(_) => "byte string",
            Value::Text(_) => "text string",
            Value::Array(_) => "array",
            Value::Map(_) => "map",
            Value::Tag(..) => "tag",
            Value::Bool(_) => "boolean",
            Value::Null => "null",
        }
    }
    /// The integer value of Uint/Nint.
    pub(crate) fn as_i128(&self) -> Option<i128> {
        match self {
            Value::Uint(v) => Some(*v as i128),
            Value::Nint(n) => Some(-1 - *n as i128),
            _ => None,
        }
    }
}

/// A decoding failure and where it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CborError {
    /// Byte offset in the input.
    pub offset: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for CborError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CBOR at offset {}: {}", self.offset, self.message)
    }
}

struct Decoder<'a> {
    b: &'a [u8],
    pos: usize,
    items: usize,
}

impl Decoder<'_> {
    fn err<T>(&self, at: usize, m: impl Into<String>) -> Result<T, CborError> {
        Err(CborError { offset: at, message: m.into() })
    }

    fn byte(&mut self) -> Result<u8, CborError> {
        let Some(&v) = self.b.get(self.pos) else { return self.err(self.pos, "unexpected end of input") };
        self.pos += 1;
        Ok(v)
    }

    fn take(&mut self, n: u64, at: usize) -> Result<&[u8], CborError> {
        let remaining = (self.b.len() - self.pos) as u64;
        if n > remaining {
            return self.err(at, format!("length {n} runs past the end of the input ({remaining} bytes left)"));
        }
        let s = &self.b[self.pos..self.pos + n as usize];
        self.pos += n as usize;
        Ok(s)
    }

    /// The argument of a head; refuses indefinite lengths and reserved values.
    fn argument(&mut self, info: u8, at: usize) -> Result<u64, CborError> {
        let n = match info {
            0..=23 => return Ok(info as u64),
            24 => 1,
            25 => 2,
            26 => 4,
            27 => 8,
            31 => return self.err(at, "indefinite-length items are not accepted"),
            _ => return self.err(at, format!("reserved additional information {info}")),
        };
        let bytes = self.take(n, at)?;
        let v = bytes.iter().fold(0u64, |a, &x| (a << 8) | x as u64);
        let minimal = match n {
            1 => v >= 24,
            2 => v > 0xFF,
            4 => v > 0xFFFF,
            _ => v > 0xFFFF_FFFF,
        };
        if !minimal {
            return self.err(at, format!("non-minimal encoding of the value {v}"));
        }
        Ok(v)
    }

    fn count(&mut self, n: u64, at: usize) -> Result<usize, CborError> {
        let n = usize::try_from(n).unwrap_or(usize::MAX);
        self.items = self.items.saturating_add(n);
        if self.items > MAX_ITEMS {
            return self.err(at, format!("more than {MAX_ITEMS} items"));
        }
        Ok(n)
    }

    fn value(&mut self, depth: usize) -> Result<Value, CborError> {
        let at = self.pos;
        if depth > MAX_DEPTH {
            return self.err(at, format!("nesting deeper than {MAX_DEPTH}"));
        }
        let head = self.byte()?;
        let (major, info) = (head >> 5, head & 0x1F);
        Ok(match major {
            0 => Value::Uint(self.argument(info, at)?),
            1 => Value::Nint(self.argument(info, at)?),
            2 => {
                let n = self.argument(info, at)?;
                Value::Bytes(self.take(n, at)?.to_vec())
            }
            3 => {
                let n = self.argument(info, at)?;
                let s = self.take(n, at)?;
                match std::str::from_utf8(s) {
                    Ok(t) => Value::Text(t.to_string()),
                    Err(_) => return self.err(at, "text string is not UTF-8"),
                }
            }
            4 => {
                let n = self.argument(info, at)?;
                let n = self.count(n, at)?;
                let mut v = Vec::with_capacity(n.min(64));
                for _ in 0..n {
                    v.push(self.value(depth + 1)?);
                }
                Value::Array(v)
            }
            5 => {
                let n = self.argument(info, at)?;
                let n = self.count(n, at)?;
                let mut m: Vec<(Value, Value)> = Vec::with_capacity(n.min(64));
                for _ in 0..n {
                    let key_at = self.pos;
                    let k = self.value(depth + 1)?;
                    if m.iter().any(|(x, _)| *x == k) {
                        return self.err(key_at, "duplicate map key");
                    }
                    let v = self.value(depth + 1)?;
                    m.push((k, v));
                }
                Value::Map(m)
            }
            6 => {
                let t = self.argument(info, at)?;
                Value::Tag(t, Box::new(self.value(depth + 1)?))
            }
            _ => match info {
                20 => Value::Bool(false),
                21 => Value::Bool(true),
                22 => Value::Null,
                25..=27 => return self.err(at, "floating-point values are not accepted"),
                31 => return self.err(at, "a break outside an indefinite-length item"),
                _ => return self.err(at, format!("simple value {info} is not accepted")),
            },
        })
    }
}

/// Decodes exactly one item; trailing bytes are refused.
pub fn decode(b: &[u8]) -> Result<Value, CborError> {
    let mut d = Decoder { b, pos: 0, items: 0 };
    let v = d.value(0)?;
    if d.pos != b.len() {
        return d.err(d.pos, format!("{} bytes after the item", b.len() - d.pos));
    }
    Ok(v)
}

fn head(out: &mut Vec<u8>, major: u8, v: u64) {
    let m = major << 5;
    match v {
        0..=23 => out.push(m | v as u8),
        24..=0xFF => out.extend_from_slice(&[m | 24, v as u8]),
        0x100..=0xFFFF => {
            out.push(m | 25);
            out.extend_from_slice(&(v as u16).to_be_bytes());
        }
        0x1_0000..=0xFFFF_FFFF => {
            out.push(m | 26);
            out.extend_from_slice(&(v as u32).to_be_bytes());
        }
        _ => {
            out.push(m | 27);
            out.extend_from_slice(&v.to_be_bytes());
        }
    }
}

/// Encodes with definite lengths and minimal heads (map entries in the given order).
pub fn encode(v: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    encode_into(v, &mut out);
    out
}

fn encode_into(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Uint(n) => head(out, 0, *n),
        Value::Nint(n) => head(out, 1, *n),
        Value::Bytes(b) => {
            head(out, 2, b.len() as u64);
            out.extend_from_slice(b);
        }
        Value::Text(t) => {
            head(out, 3, t.len() as u64);
            out.extend_from_slice(t.as_bytes());
        }
        Value::Array(a) => {
            head(out, 4, a.len() as u64);
            for x in a {
                encode_into(x, out);
            }
        }
        Value::Map(m) => {
            head(out, 5, m.len() as u64);
            for (k, x) in m {
                encode_into(k, out);
                encode_into(x, out);
            }
        }
        Value::Tag(t, x) => {
            head(out, 6, *t);
            encode_into(x, out);
        }
        Value::Bool(b) => out.push(if *b { 0xF5 } else { 0xF4 }),
        Value::Null => out.push(0xF6),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_strictness() {
        let v = Value::Map(vec![
            (Value::Text("a".into()), Value::Array(vec![Value::Uint(500), Value::Nint(34), Value::Null])),
            (Value::Uint(1), Value::Bytes(vec![1, 2, 3])),
        ]);
        assert_eq!(decode(&encode(&v)), Ok(v));
        assert!(decode(&[0x5F, 0x41, 0x00, 0xFF]).unwrap_err().message.contains("indefinite"));
        assert!(decode(&[0x18, 0x05]).unwrap_err().message.contains("non-minimal"));
        assert!(decode(&[0xA2, 0x01, 0x01, 0x01, 0x02]).unwrap_err().message.contains("duplicate"));
        assert!(decode(&[0x5A, 0xFF, 0xFF, 0xFF, 0xFF]).unwrap_err().message.contains("past the end"));
        assert!(decode(&[0xF9, 0x3C, 0x00]).unwrap_err().message.contains("floating"));
        assert!(decode(&[0x01, 0x02]).unwrap_err().message.contains("after the item"));
        let deep = [vec![0x81u8; 40], vec![0x00]].concat();
        assert!(decode(&deep).unwrap_err().message.contains("nesting"));
        let huge = [0x9B, 0, 0, 0, 1, 0, 0, 0, 0];
        assert!(decode(&huge).unwrap_err().message.contains("items"));
    }
}
