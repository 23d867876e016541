//! Containers around pickles: tar archives (legacy `torch.save`) and NumPy `.npy`, and the
//! limits every container reader shares (zip archives are read by [`crate::zip`]).
//! Decompression is limited (total size, ratio, entry count, nesting depth): a zip bomb is
//! a finding, not an outage.

use mlguard_findings::{Finding, Location, Severity};

/// Most members read from one archive.
pub const MAX_ENTRIES: usize = 100_000;
/// Most bytes decompressed from one file, all members and nesting levels together.
pub const MAX_TOTAL_BYTES: u64 = 4 << 30;
/// Largest decompressed/compressed ratio accepted for a member above 1 MiB.
pub const MAX_RATIO: u64 = 1000;
/// Deepest nesting of containers.
pub const MAX_DEPTH: usize = 8;

/// `n` bytes at `at`, without overflow: every offset a container reader uses comes from
/// the file.
pub(crate) fn bytes_at(b: &[u8], at: usize, n: usize) -> Option<&[u8]> {
    b.get(at..at.checked_add(n)?)
}

/// A little-endian `u16` at `at`.
pub(crate) fn u16le(b: &[u8], at: usize) -> Option<u16> {
    bytes_at(b, at, 2).map(|s| u16::from_le_bytes([s[0], s[1]]))
}

/// A little-endian `u32` at `at`.
pub(crate) fn u32le(b: &[u8], at: usize) -> Option<u32> {
    bytes_at(b, at, 4).map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

/// A little-endian `u64` at `at`.
pub(crate) fn u64le(b: &[u8], at: usize) -> Option<u64> {
    let s = bytes_at(b, at, 8)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(s);
    Some(u64::from_le_bytes(a))
}

/// Whether `data` is a tar archive (POSIX ustar or GNU: the magic at byte 257).
pub(crate) fn is_tar(data: &[u8]) -> bool {
    bytes_at(data, 257, 5) == Some(b"ustar") || v7_header(data)
}

/// A pre-POSIX (V7) tar header, which has no magic: Python's `tarfile` (and so legacy
/// `torch.save` loading) accepts any first block whose checksum is right.
fn v7_header(data: &[u8]) -> bool {
    let Some(h) = bytes_at(data, 0, 512) else { return false };
    let named = h[0] != 0 && h[..100].iter().all(|&b| b == 0 || (0x20..0x7f).contains(&b));
    let sum: u64 = h
        .iter()
        .enumerate()
        .map(|(i, &b)| if (148..156).contains(&i) { 32 } else { u64::from(b) })
        .sum();
    named && tar_number(&h[148..156]) == Some(sum)
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

/// Output always allowed whatever the ratio: real arrays compress far past 1000:1 (80 MB of
/// `np.zeros` deflates to ~80 KB), bombs need much more than this to hurt.
pub const RATIO_FREE_BYTES: u64 = 256 << 20;

/// Most bytes a compressed stream of `compressed` bytes may inflate to: the ratio limit
/// (streams under [`RATIO_FREE_BYTES`] of output are always allowed) and what is left of
/// the budget.
pub(crate) fn output_cap(compressed: usize, budget: u64) -> usize {
    let ratio_cap = (compressed as u64).saturating_mul(MAX_RATIO).max(RATIO_FREE_BYTES);
    usize::try_from(ratio_cap.min(budget).min(MAX_TOTAL_BYTES)).unwrap_or(usize::MAX)
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
    // Versions 1 and 2 are Latin-1, version 3 UTF-8.
    let header: String = if major == 3 {
        String::from_utf8_lossy(header).into_owned()
    } else {
        header.iter().map(|&b| char::from(b)).collect()
    };
    let object = crate::npy::holds_objects(&header)?;
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
