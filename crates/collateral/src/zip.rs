//! Just enough of the zip format to take one file out of AWS's root archive: the central
//! directory is read from the end record, the entry is stored (method 0) or deflated (method 8,
//! inflated by miniz_oxide with a size limit). Every offset is bounds-checked.

fn u16_at(b: &[u8], o: usize) -> Result<usize, String> {
    b.get(o..o + 2).map(|x| u16::from_le_bytes([x[0], x[1]]) as usize).ok_or_else(|| format!("zip: truncated at {o}"))
}

fn u32_at(b: &[u8], o: usize) -> Result<usize, String> {
    b.get(o..o + 4)
        .map(|x| u32::from_le_bytes([x[0], x[1], x[2], x[3]]) as usize)
        .ok_or_else(|| format!("zip: truncated at {o}"))
}

/// The contents of the first entry whose name is `name` or ends with `/name`.
pub fn extract(zip: &[u8], name: &str, limit: usize) -> Result<Vec<u8>, String> {
    // End of central directory: 22 bytes plus a comment of up to 65535.
    let min = zip.len().saturating_sub(22 + 65535);
    let eocd = (min..=zip.len().saturating_sub(22))
        .rev()
        .find(|&i| zip.get(i..i + 4) == Some(b"PK\x05\x06"))
        .ok_or("zip: no end-of-central-directory record")?;
    let count = u16_at(zip, eocd + 10)?;
    let mut p = u32_at(zip, eocd + 16)?;
    for _ in 0..count {
        if zip.get(p..p + 4) != Some(b"PK\x01\x02") {
            return Err(format!("zip: bad central directory entry at {p}"));
        }
        let method = u16_at(zip, p + 10)?;
        let csize = u32_at(zip, p + 20)?;
        let usize_ = u32_at(zip, p + 24)?;
        let (nlen, xlen, clen) = (u16_at(zip, p + 28)?, u16_at(zip, p + 30)?, u16_at(zip, p + 32)?);
        let local = u32_at(zip, p + 42)?;
        let entry_name = zip.get(p + 46..p + 46 + nlen).ok_or("zip: truncated name")?;
        p += 46 + nlen + xlen + clen;
        let entry_name = String::from_utf8_lossy(entry_name);
        if entry_name != name && !entry_name.ends_with(&format!("/{name}")) {
            continue;
        }
        if usize_ > limit {
            return Err(format!("zip: {name} is {usize_} bytes, more than {limit}"));
        }
        if zip.get(local..local + 4) != Some(b"PK\x03\x04") {
            return Err(format!("zip: bad local header at {local}"));
        }
        let start = local + 30 + u16_at(zip, local + 26)? + u16_at(zip, local + 28)?;
        let data = zip.get(start..start.saturating_add(csize)).ok_or("zip: entry data out of bounds")?;
        return match method {
            0 => Ok(data.to_vec()),
            8 => miniz_oxide::inflate::decompress_to_vec_with_limit(data, limit)
                .map_err(|e| format!("zip: {name} does not inflate: {e:?}")),
            m => Err(format!("zip: compression method {m} is not supported")),
        };
    }
    Err(format!("zip: no {name} in the archive"))
}
