//! Containers around pickles: zip archives (PyTorch, `.npz`, `.keras`) and NumPy `.npy`.
//!
//! The zip walker reads what PyTorch's reader would: members from the central directory
//! *and* from local headers (a member listed in only one of them is still scanned), CRCs
//! and the encryption flag ignored, odd names tolerated. Decompression is limited (total
//! size, ratio, entry count, nesting depth): a zip bomb is a finding, not an outage.

use mlguard_findings::{Finding, Location, Severity};

/// Most members read from one archive.
pub const MAX_ENTRIES: usize = 100_000;
/// Most bytes decompressed from one file, all members and nesting levels together.
pub const MAX_TOTAL_BYTES: u64 = 4 << 30;
/// Largest decompressed/compressed ratio accepted for a member above 1 MiB.
pub const MAX_RATIO: u64 = 1000;
/// Deepest nesting of containers.
pub const MAX_DEPTH: usize = 8;

/// A member of a zip archive.
#[derive(Debug, Clone)]
pub(crate) struct Member {
    pub(crate) name: String,
    pub(crate) method: u16,
    pub(crate) flags: u16,
    pub(crate) data_offset: usize,
    pub(crate) compressed: usize,
}

/// `n` bytes at `at`, without overflow: every offset here comes from the file.
fn bytes_at(b: &[u8], at: usize, n: usize) -> Option<&[u8]> {
    b.get(at..at.checked_add(n)?)
}

fn u16le(b: &[u8], at: usize) -> Option<u16> {
    let s = bytes_at(b, at, 2)?;
    Some(u16::from_le_bytes([s[0], s[1]]))
}

fn u32le(b: &[u8], at: usize) -> Option<u32> {
    let s = bytes_at(b, at, 4)?;
    Some(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

/// The member whose local header is at `off`, with sizes from the central directory when
/// the local header defers them.
fn local_member(data: &[u8], off: usize, cd_sizes: Option<usize>) -> Option<Member> {
    if bytes_at(data, off, 4)? != b"PK\x03\x04" {
        return None;
    }
    let flags = u16le(data, off + 6)?;
    let method = u16le(data, off + 8)?;
    let mut compressed = u32le(data, off + 18)? as usize;
    let name_len = usize::from(u16le(data, off + 26)?);
    let extra_len = usize::from(u16le(data, off + 28)?);
    let name_start = off.checked_add(30)?;
    let name = String::from_utf8_lossy(bytes_at(data, name_start, name_len)?).into_owned();
    let data_offset = name_start.checked_add(name_len)?.checked_add(extra_len)?;
    if let Some(c) = cd_sizes {
        if compressed == 0 || flags & 0x8 != 0 {
            compressed = c;
        }
    } else if flags & 0x8 != 0 && compressed == 0 {
        // Sizes in a data descriptor: the member runs to the next signature.
        let rest = data.get(data_offset..)?;
        compressed = rest
            .windows(4)
            .position(|w| w == b"PK\x07\x08" || w == b"PK\x03\x04" || w == b"PK\x01\x02")
            .unwrap_or(rest.len());
    }
    let end = data_offset.checked_add(compressed)?;
    if end > data.len() {
        return None;
    }
    Some(Member { name, method, flags, data_offset, compressed })
}

/// Every member of a zip archive found through the central directory or by walking the
/// local headers; members are identified by the offset of their local header.
pub(crate) fn members(data: &[u8]) -> (Vec<Member>, Vec<String>) {
    let mut problems = Vec::new();
    let mut by_offset: std::collections::BTreeMap<usize, Member> =
        std::collections::BTreeMap::new();
    // Central directory, via the end-of-central-directory record.
    let tail_start = data.len().saturating_sub(65_557);
    let eocd =
        data[tail_start..].windows(4).rposition(|w| w == b"PK\x05\x06").map(|i| tail_start + i);
    let mut cd_listed = 0usize;
    if let Some(e) = eocd {
        let count = u16le(data, e + 10).map_or(0, usize::from);
        let mut at = u32le(data, e + 16).map_or(data.len(), |v| v as usize);
        for _ in 0..count.min(MAX_ENTRIES) {
            if bytes_at(data, at, 4) != Some(b"PK\x01\x02") {
                problems.push("the central directory is damaged".to_owned());
                break;
            }
            let (Some(c), Some(nl), Some(xl), Some(cl), Some(lo)) = (
                u32le(data, at + 20),
                u16le(data, at + 28),
                u16le(data, at + 30),
                u16le(data, at + 32),
                u32le(data, at + 42),
            ) else {
                break;
            };
            cd_listed += 1;
            match local_member(data, lo as usize, Some(c as usize)) {
                Some(m) => {
                    by_offset.insert(lo as usize, m);
                }
                None => problems
                    .push(format!("central directory entry {cd_listed} points at no member")),
            }
            at = at.saturating_add(46 + usize::from(nl) + usize::from(xl) + usize::from(cl));
        }
    } else {
        problems.push("no central directory (end record missing)".to_owned());
    }
    // Local headers, walked from the start: members the central directory hides count too.
    let mut off = 0;
    while let Some(i) =
        data.get(off..).and_then(|rest| rest.windows(4).position(|w| w == b"PK\x03\x04"))
    {
        let at = off + i;
        if by_offset.len() >= MAX_ENTRIES {
            problems.push(format!("more than {MAX_ENTRIES} members: the rest were not read"));
            break;
        }
        match by_offset.get(&at).cloned().or_else(|| local_member(data, at, None)) {
            Some(m) => {
                off = m.data_offset + m.compressed.max(1);
                by_offset.entry(at).or_insert(m);
            }
            None => off = at + 4,
        }
    }
    (by_offset.into_values().collect(), problems)
}

/// Whether `data` is a tar archive (POSIX ustar or GNU: the magic at byte 257).
pub(crate) fn is_tar(data: &[u8]) -> bool {
    bytes_at(data, 257, 5) == Some(b"ustar")
}

/// A tar header's numeric field: octal ASCII, or GNU base-256 when the high bit is set.
fn tar_number(field: &[u8]) -> Option<u64> {
    if field.first().is_some_and(|b| b & 0x80 != 0) {
        let digits = &field[1..];
        if digits.len() > 8 && digits[..digits.len() - 8].iter().any(|&b| b != 0) {
            return None;
        }
        return Some(digits.iter().fold(0u64, |acc, &b| acc << 8 | u64::from(b)));
    }
    let text = std::str::from_utf8(field).ok()?;
    let text = text.trim_matches(|c: char| c == '\0' || c == ' ');
    if text.is_empty() { Some(0) } else { u64::from_str_radix(text, 8).ok() }
}

/// The regular-file members of a tar archive as (name, bytes), and what was odd about it.
/// Checksums are reported, not enforced (like zip CRCs): a member is scanned either way.
pub(crate) fn tar_members(data: &[u8]) -> (Vec<(String, &[u8])>, Vec<String>) {
    let (mut out, mut problems) = (Vec::new(), Vec::new());
    let mut at = 0usize;
    let mut long_name: Option<String> = None;
    while let Some(h) = bytes_at(data, at, 512) {
        if h.iter().all(|&b| b == 0) {
            break;
        }
        if out.len() >= MAX_ENTRIES {
            problems.push(format!("more than {MAX_ENTRIES} members: the rest were not read"));
            break;
        }
        let Some(size) = tar_number(&h[124..136]) else {
            problems.push(format!("header at byte {at}: unreadable size"));
            break;
        };
        let sum: u64 = h
            .iter()
            .enumerate()
            .map(|(i, &b)| if (148..156).contains(&i) { 32 } else { u64::from(b) })
            .sum();
        if tar_number(&h[148..156]) != Some(sum) {
            problems.push(format!("header at byte {at}: bad checksum"));
        }
        let start = at + 512;
        let len = usize::try_from(size).unwrap_or(usize::MAX);
        let Some(body) = bytes_at(data, start, len) else {
            problems.push(format!("member at byte {at} runs past the end of the archive"));
            if let Some(rest) = data.get(start..) {
                out.push((tar_name(h, long_name.take()), rest));
            }
            break;
        };
        match h[156] {
            b'L' => long_name = Some(tar_cstr(body)),
            b'0' | 0 | b'7' => out.push((tar_name(h, long_name.take()), body)),
            _ => long_name = None,
        }
        at = start.saturating_add(len.div_ceil(512).saturating_mul(512));
    }
    (out, problems)
}

fn tar_cstr(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).into_owned()
}

fn tar_name(h: &[u8], long: Option<String>) -> String {
    long.unwrap_or_else(|| {
        let (prefix, name) = (tar_cstr(&h[345..500]), tar_cstr(&h[..100]));
        if prefix.is_empty() || &h[257..263] != b"ustar\0" {
            name
        } else {
            format!("{prefix}/{name}")
        }
    })
}

/// Most bytes a compressed stream of `compressed` bytes may inflate to: the ratio limit
/// (streams under 1 MiB of output are always allowed) and what is left of the budget.
pub(crate) fn output_cap(compressed: usize, budget: u64) -> usize {
    let ratio_cap = (compressed as u64).saturating_mul(MAX_RATIO).max(1 << 20);
    usize::try_from(ratio_cap.min(budget).min(MAX_TOTAL_BYTES)).unwrap_or(usize::MAX)
}

/// A member's bytes, or why they could not be had.
pub(crate) fn extract(data: &[u8], m: &Member, budget: &mut u64) -> Result<Vec<u8>, String> {
    let raw = &data[m.data_offset..m.data_offset + m.compressed];
    let out = match m.method {
        0 => raw.to_vec(),
        8 => {
            let cap = output_cap(m.compressed, *budget);
            miniz_oxide::inflate::decompress_to_vec_with_limit(raw, cap).map_err(|e| match e.status {
                miniz_oxide::inflate::TINFLStatus::HasMoreOutput => {
                    format!("decompresses to more than {cap} bytes (ratio over {MAX_RATIO}:1 or total over the limit): a zip bomb?")
                }
                _ => format!("deflate data is corrupt ({:?})", e.status),
            })?
        }
        other => {
            return Err(format!("compression method {other} is not supported by this scanner"));
        }
    };
    *budget = budget.saturating_sub(out.len() as u64);
    Ok(out)
}

/// The pickle inside a NumPy `.npy` object array, if any; `Err` for a malformed header.
pub(crate) fn npy_pickle(data: &[u8]) -> Result<Option<(usize, &[u8])>, String> {
    let major = *data.get(6).ok_or("truncated .npy header")?;
    let (len, start) = match major {
        1 => (usize::from(u16le(data, 8).ok_or("truncated .npy header")?), 10),
        2 | 3 => (u32le(data, 8).ok_or("truncated .npy header")? as usize, 12),
        v => return Err(format!("unknown .npy version {v}")),
    };
    let header = data.get(start..start + len).ok_or("the .npy header runs past the end")?;
    let header = String::from_utf8_lossy(header);
    let object = header.contains("'descr': '|O'") || header.contains("\"descr\": \"|O\"");
    Ok(object.then(|| (start + len, &data[start + len..])))
}

/// A finding about a container.
pub(crate) fn container_finding(
    file: &str,
    check: &str,
    severity: Severity,
    message: String,
) -> Finding {
    Finding::new(check, severity, message).at(Location::file(file.to_owned()))
}
