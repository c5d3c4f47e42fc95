//! A tiny DER (X.690) encoder: just what the simulated PKIs need.
//!
//! Every function returns the complete TLV (tag, length, value) as a `Vec<u8>`;
//! constructed types take already-encoded children.

/// Universal tag numbers used here.
pub mod tag {
    pub const BOOLEAN: u8 = 0x01;
    pub const INTEGER: u8 = 0x02;
    pub const BIT_STRING: u8 = 0x03;
    pub const OCTET_STRING: u8 = 0x04;
    pub const NULL: u8 = 0x05;
    pub const OID: u8 = 0x06;
    pub const UTF8_STRING: u8 = 0x0C;
    pub const PRINTABLE_STRING: u8 = 0x13;
    pub const IA5_STRING: u8 = 0x16;
    pub const UTC_TIME: u8 = 0x17;
    pub const GENERALIZED_TIME: u8 = 0x18;
    pub const SEQUENCE: u8 = 0x30;
    pub const SET: u8 = 0x31;
}

/// Encodes a definite length (short form below 128, long form otherwise).
fn push_len(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        let n = bytes.len() - skip;
        out.push(0x80 | n as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

/// A TLV with the given (single-byte) identifier octet.
pub fn tlv(tag: u8, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() + 6);
    out.push(tag);
    push_len(&mut out, value.len());
    out.extend_from_slice(value);
    out
}

fn concat(children: &[&[u8]]) -> Vec<u8> {
    children.concat()
}

/// SEQUENCE of already-encoded children.
pub fn sequence(children: &[&[u8]]) -> Vec<u8> {
    tlv(tag::SEQUENCE, &concat(children))
}

/// SEQUENCE from owned children.
pub fn sequence_of(children: &[Vec<u8>]) -> Vec<u8> {
    tlv(tag::SEQUENCE, &children.concat())
}

/// SET of already-encoded children. The children are sorted by their encodings
/// (X.690 11.6, DER SET OF ordering), which is a no-op for the one-element sets
/// of a distinguished name.
pub fn set(children: &[&[u8]]) -> Vec<u8> {
    let mut sorted: Vec<&[u8]> = children.to_vec();
    sorted.sort();
    tlv(tag::SET, &concat(&sorted))
}

/// INTEGER from an unsigned big-endian magnitude: minimal encoding, with a
/// leading 0x00 when the high bit of the first byte is set. An empty slice
/// encodes 0.
pub fn uint(be: &[u8]) -> Vec<u8> {
    let skip = be.iter().take_while(|&&b| b == 0).count();
    let digits = &be[skip..];
    let mut v = Vec::with_capacity(digits.len() + 1);
    if digits.is_empty() || digits[0] & 0x80 != 0 {
        v.push(0);
    }
    v.extend_from_slice(digits);
    tlv(tag::INTEGER, &v)
}

/// INTEGER from a non-negative machine integer.
pub fn small_uint(n: u64) -> Vec<u8> {
    uint(&n.to_be_bytes())
}

/// INTEGER from a signed machine integer (two's complement, minimal).
pub fn int(n: i64) -> Vec<u8> {
    let bytes = n.to_be_bytes();
    let mut start = 0;
    while start < 7 {
        let (b, next) = (bytes[start], bytes[start + 1]);
        if (b == 0x00 && next & 0x80 == 0) || (b == 0xFF && next & 0x80 != 0) {
            start += 1;
        } else {
            break;
        }
    }
    tlv(tag::INTEGER, &bytes[start..])
}

/// BOOLEAN (DER: TRUE is 0xFF).
pub fn boolean(b: bool) -> Vec<u8> {
    tlv(tag::BOOLEAN, &[if b { 0xFF } else { 0x00 }])
}

/// NULL.
pub fn null() -> Vec<u8> {
    vec![tag::NULL, 0]
}

fn push_base128(out: &mut Vec<u8>, mut v: u64) {
    let mut tmp = [0u8; 10];
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = (v & 0x7F) as u8;
        v >>= 7;
        if v == 0 {
            break;
        }
    }
    let last = tmp.len() - 1;
    for (j, b) in tmp.iter().enumerate().skip(i) {
        out.push(if j == last { *b } else { *b | 0x80 });
    }
}

/// OBJECT IDENTIFIER from arcs. Panics (programmer error) on fewer than two
/// arcs or a first arc above 2.
pub fn oid_arcs(arcs: &[u64]) -> Vec<u8> {
    assert!(arcs.len() >= 2 && arcs[0] <= 2, "invalid OID arcs {arcs:?}");
    assert!(arcs[0] == 2 || arcs[1] < 40, "invalid OID arcs {arcs:?}");
    let mut v = Vec::new();
    push_base128(&mut v, arcs[0] * 40 + arcs[1]);
    for &a in &arcs[2..] {
        push_base128(&mut v, a);
    }
    tlv(tag::OID, &v)
}

/// OBJECT IDENTIFIER from dotted text ("1.2.840.113549.1.1.10"). Panics
/// (programmer error) on malformed text.
pub fn oid(dotted: &str) -> Vec<u8> {
    let arcs: Vec<u64> =
        dotted.split('.').map(|a| a.parse().unwrap_or_else(|_| panic!("invalid OID text {dotted:?}"))).collect();
    oid_arcs(&arcs)
}

/// OCTET STRING.
pub fn octet_string(v: &[u8]) -> Vec<u8> {
    tlv(tag::OCTET_STRING, v)
}

/// BIT STRING with `unused` (0..=7) padding bits in the last octet.
pub fn bit_string_with_unused(bytes: &[u8], unused: u8) -> Vec<u8> {
    let mut v = Vec::with_capacity(bytes.len() + 1);
    v.push(unused);
    v.extend_from_slice(bytes);
    tlv(tag::BIT_STRING, &v)
}

/// BIT STRING of whole octets (no unused bits).
pub fn bit_string(bytes: &[u8]) -> Vec<u8> {
    bit_string_with_unused(bytes, 0)
}

/// BIT STRING holding named bits (bit 0 = most significant bit of the first
/// octet), DER-trimmed of trailing zero bits (X.690 11.2.2), as used by
/// keyUsage.
pub fn named_bits(bits: &[u8]) -> Vec<u8> {
    let Some(&max) = bits.iter().max() else {
        return bit_string(&[]);
    };
    let mut bytes = vec![0u8; max as usize / 8 + 1];
    for &b in bits {
        bytes[b as usize / 8] |= 0x80 >> (b % 8);
    }
    let last = *bytes.last().unwrap_or(&0);
    let unused = last.trailing_zeros() as u8;
    bit_string_with_unused(&bytes, unused)
}

/// UTF8String.
pub fn utf8_string(s: &str) -> Vec<u8> {
    tlv(tag::UTF8_STRING, s.as_bytes())
}

/// PrintableString (the caller supplies a printable-only string).
pub fn printable_string(s: &str) -> Vec<u8> {
    tlv(tag::PRINTABLE_STRING, s.as_bytes())
}

/// IA5String (the caller supplies an ASCII string).
pub fn ia5_string(s: &str) -> Vec<u8> {
    tlv(tag::IA5_STRING, s.as_bytes())
}

/// Context-specific, constructed, EXPLICIT tag `[n]` (n < 31) around an
/// already-encoded child.
pub fn explicit(n: u8, child: &[u8]) -> Vec<u8> {
    assert!(n < 31, "high tag numbers are not supported");
    tlv(0xA0 | n, child)
}

/// Civil date (proleptic Gregorian, UTC) from unix seconds:
/// (year, month 1-12, day 1-31, hour, minute, second).
pub fn civil_from_unix(t: i64) -> (i64, u32, u32, u32, u32, u32) {
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400);
    // Howard Hinnant's days_from_civil inverse.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = if m <= 2 { y + 1 } else { y };
    (y, m, d, (secs / 3600) as u32, (secs % 3600 / 60) as u32, (secs % 60) as u32)
}

/// Unix seconds from a civil UTC date-time.
pub fn unix_from_civil(y: i64, m: u32, d: u32, hh: u32, mm: u32, ss: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    days * 86_400 + i64::from(hh) * 3600 + i64::from(mm) * 60 + i64::from(ss)
}

/// UTCTime `YYMMDDHHMMSSZ`. Panics (programmer error) outside 1950..=2049.
pub fn utc_time(t: i64) -> Vec<u8> {
    let (y, mo, d, h, mi, s) = civil_from_unix(t);
    assert!((1950..=2049).contains(&y), "UTCTime year {y} out of range");
    let text = format!("{:02}{mo:02}{d:02}{h:02}{mi:02}{s:02}Z", y % 100);
    tlv(tag::UTC_TIME, text.as_bytes())
}

/// GeneralizedTime `YYYYMMDDHHMMSSZ`. Panics (programmer error) outside
/// years 0..=9999.
pub fn generalized_time(t: i64) -> Vec<u8> {
    let (y, mo, d, h, mi, s) = civil_from_unix(t);
    assert!((0..=9999).contains(&y), "GeneralizedTime year {y} out of range");
    let text = format!("{y:04}{mo:02}{d:02}{h:02}{mi:02}{s:02}Z");
    tlv(tag::GENERALIZED_TIME, text.as_bytes())
}

/// RFC 5280 4.1.2.5 `Time`: UTCTime for 1950..=2049, GeneralizedTime otherwise.
pub fn time(t: i64) -> Vec<u8> {
    let (y, ..) = civil_from_unix(t);
    if (1950..=2049).contains(&y) { utc_time(t) } else { generalized_time(t) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers() {
        assert_eq!(uint(&[]), [2, 1, 0]);
        assert_eq!(uint(&[0]), [2, 1, 0]);
        assert_eq!(uint(&[0, 0, 5]), [2, 1, 5]);
        assert_eq!(uint(&[0x7F]), [2, 1, 0x7F]);
        assert_eq!(uint(&[0x80]), [2, 2, 0, 0x80]);
        assert_eq!(uint(&[0xD9]), [2, 2, 0, 0xD9]);
        assert_eq!(uint(&[0, 0x01, 0x00, 0x01]), [2, 3, 1, 0, 1]);
        assert_eq!(small_uint(48), [2, 1, 0x30]);
        assert_eq!(small_uint(255), [2, 2, 0, 0xFF]);
        assert_eq!(int(0), [2, 1, 0]);
        assert_eq!(int(-1), [2, 1, 0xFF]);
        assert_eq!(int(-129), [2, 2, 0xFF, 0x7F]);
        assert_eq!(int(128), [2, 2, 0, 0x80]);
    }

    #[test]
    fn oids() {
        assert_eq!(oid("1.2.840.113549.1.1.10"), [6, 9, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 1, 1, 10]);
        assert_eq!(oid("2.16.840.1.101.3.4.2.2"), [6, 9, 0x60, 0x86, 0x48, 1, 0x65, 3, 4, 2, 2]);
        assert_eq!(oid("1.3.6.1.4.1.3704.1.3.1"), [6, 10, 0x2B, 6, 1, 4, 1, 0x9C, 0x78, 1, 3, 1]);
        assert_eq!(oid("2.999.3"), [6, 3, 0x88, 0x37, 3]);
        assert_eq!(oid("2.5.29.19"), oid_arcs(&[2, 5, 29, 19]));
    }

    #[test]
    fn lengths() {
        let v = vec![0u8; 200];
        let e = octet_string(&v);
        assert_eq!(&e[..3], [4, 0x81, 200]);
        let v = vec![0u8; 0x1234];
        let e = octet_string(&v);
        assert_eq!(&e[..4], [4, 0x82, 0x12, 0x34]);
    }

    #[test]
    fn bits_and_misc() {
        // keyUsage keyCertSign(5) + cRLSign(6) = 03 02 01 06
        assert_eq!(named_bits(&[5, 6]), [3, 2, 1, 6]);
        // keyCertSign only = 03 02 02 04
        assert_eq!(named_bits(&[5]), [3, 2, 2, 4]);
        // digitalSignature = 03 02 07 80
        assert_eq!(named_bits(&[0]), [3, 2, 7, 0x80]);
        assert_eq!(boolean(true), [1, 1, 0xFF]);
        assert_eq!(null(), [5, 0]);
        assert_eq!(explicit(0, &small_uint(2)), [0xA0, 3, 2, 1, 2]);
        assert_eq!(set(&[&[2, 1, 5], &[2, 1, 1]]), [0x31, 6, 2, 1, 1, 2, 1, 5]);
    }

    #[test]
    fn times() {
        assert_eq!(unix_from_civil(1970, 1, 1, 0, 0, 0), 0);
        assert_eq!(unix_from_civil(2020, 1, 1, 0, 0, 0), 1_577_836_800);
        assert_eq!(unix_from_civil(2099, 12, 31, 23, 59, 59), 4_102_444_799);
        for t in [-2_208_988_800, 0, 951_782_400, 1_577_836_800, 2_524_608_000, 4_102_444_799] {
            let (y, mo, d, h, mi, s) = civil_from_unix(t);
            assert_eq!(unix_from_civil(y, mo, d, h, mi, s), t);
        }
        assert_eq!(civil_from_unix(951_782_400), (2000, 2, 29, 0, 0, 0));
        assert_eq!(time(1_577_836_800), tlv(tag::UTC_TIME, b"200101000000Z"));
        assert_eq!(time(-631_152_000), tlv(tag::UTC_TIME, b"500101000000Z"));
        assert_eq!(time(-631_152_001), tlv(tag::GENERALIZED_TIME, b"19491231235959Z"));
        assert_eq!(time(2_524_607_999), tlv(tag::UTC_TIME, b"491231235959Z"));
        assert_eq!(time(2_524_608_000), tlv(tag::GENERALIZED_TIME, b"20500101000000Z"));
        assert_eq!(time(4_102_444_799), tlv(tag::GENERALIZED_TIME, b"20991231235959Z"));
    }
}
