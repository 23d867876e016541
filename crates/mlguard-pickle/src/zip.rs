//! Zip archives as the loaders read them (PyTorch, NumPy `.npz`, Keras `.keras`), after
//! APPNOTE.TXT 6.3.10 (PKWARE's specification):
//!
//! - The end of central directory record (4.3.16), and for large or many-member archives
//!   the zip64 end record and its locator (4.3.14, 4.3.15).
//! - Central directory headers (4.3.12) and local file headers (4.3.7), each with its own
//!   extra fields; the zip64 extended information field (4.5.3) replaces any size or offset
//!   written as `0xFFFFFFFF` — NumPy's `savez` writes one in every local header.
//! - Data descriptors (4.3.9) after members whose local header defers the sizes (bit 3).
//!
//! Python's `zipfile` (used by `numpy.load`, Keras and PyTorch's Python fallback) and
//! PyTorch's miniz reader both find members through the central directory; a member only a
//! local header knows of is still read here, and every disagreement between the two views
//! is reported, because a scanner that reads one view and a loader that reads the other is
//! the classic zip bypass. Nothing here panics on hostile offsets or sizes.

use std::collections::BTreeMap;

use crate::archive::{MAX_ENTRIES, MAX_RATIO, bytes_at, output_cap, u16le, u32le, u64le};

/// `PK\x03\x04`: a local file header (4.3.7).
const LOCAL_SIG: &[u8; 4] = b"PK\x03\x04";
/// `PK\x01\x02`: a central directory header (4.3.12).
const CENTRAL_SIG: &[u8; 4] = b"PK\x01\x02";
/// `PK\x05\x06`: the end of central directory record (4.3.16).
const EOCD_SIG: &[u8; 4] = b"PK\x05\x06";
/// `PK\x06\x06`: the zip64 end of central directory record (4.3.14).
const EOCD64_SIG: &[u8; 4] = b"PK\x06\x06";
/// `PK\x06\x07`: the zip64 end of central directory locator (4.3.15).
const EOCD64_LOCATOR_SIG: &[u8; 4] = b"PK\x06\x07";
/// `PK\x07\x08`: the optional signature of a data descriptor (4.3.9.3).
const DESCRIPTOR_SIG: &[u8; 4] = b"PK\x07\x08";
/// Fixed sizes of the records above.
const LOCAL_LEN: usize = 30;
const CENTRAL_LEN: usize = 46;
const EOCD_LEN: usize = 22;
const EOCD64_LOCATOR_LEN: usize = 20;
/// The end record is followed by a comment of at most 65,535 bytes.
const MAX_COMMENT: usize = 0xFFFF;
/// Header ID of the zip64 extended information extra field (4.5.3).
const ZIP64_EXTRA: u16 = 0x0001;
/// General purpose flag bits (4.4.4): encrypted, sizes in a data descriptor.
const FLAG_ENCRYPTED: u16 = 1;
const FLAG_DESCRIPTOR: u16 = 1 << 3;
/// Compression methods this reader inflates (4.4.5).
const STORED: u16 = 0;
const DEFLATED: u16 = 8;
const BZIP2: u16 = 12;
const LZMA: u16 = 14;

/// One member: where its data is and how it is compressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Member {
    /// Its name (lossily decoded for reports).
    pub(crate) name: String,
    /// Compression method.
    pub(crate) method: u16,
    /// General purpose flags.
    pub(crate) flags: u16,
    /// Offset of the first data byte.
    pub(crate) data_offset: usize,
    /// Compressed size.
    pub(crate) compressed: usize,
    /// Offset of its local header.
    pub(crate) header: usize,
    /// Which view of the archive lists it.
    pub(crate) seen: Seen,
}

impl Member {
    /// Whether the member is encrypted (its content cannot be read).
    pub(crate) fn encrypted(&self) -> bool {
        self.flags & FLAG_ENCRYPTED != 0
    }
}

/// Which view of an archive a member comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Seen {
    /// The central directory and a matching local header agree.
    Both,
    /// Listed by the central directory only (its local header says otherwise: this is the
    /// central directory's reading of the member).
    Central,
    /// Found only by walking the local headers (what a streaming reader sees).
    Local,
}

/// A zip archive's members and what was wrong with it. Every problem means a loader may
/// see something this reading does not: the caller reports each at medium severity.
#[derive(Debug, Default)]
pub(crate) struct Listing {
    /// Members in archive order (both readings of a member whose views disagree).
    pub(crate) members: Vec<Member>,
    /// What could not be read, or where the two views disagree.
    pub(crate) problems: Vec<String>,
}

fn to_usize(v: u64) -> Option<usize> {
    usize::try_from(v).ok()
}

/// The values of a zip64 extended information field (4.5.3): each is present only when
/// the corresponding 32-bit field says `0xFFFFFFFF`, in this order.
struct Zip64Fields {
    compressed: Option<u64>,
    offset: Option<u64>,
}

/// Reads the zip64 field from `extra` for the 32-bit fields that overflowed (`need`:
/// uncompressed, compressed, offset); `Err` when the field is missing or short.
fn zip64_fields(extra: &[u8], need: [bool; 3]) -> Result<Zip64Fields, String> {
    let mut at = 0;
    while let (Some(id), Some(len)) = (u16le(extra, at), u16le(extra, at + 2)) {
        let body = bytes_at(extra, at + 4, usize::from(len))
            .ok_or("an extra field runs past its header's extra area")?;
        if id == ZIP64_EXTRA {
            let mut pos = 0;
            let mut next = |wanted: bool| -> Result<Option<u64>, String> {
                if !wanted {
                    return Ok(None);
                }
                let v = u64le(body, pos).ok_or("the zip64 extra field is too short")?;
                pos += 8;
                Ok(Some(v))
            };
            next(need[0])?;
            return Ok(Zip64Fields { compressed: next(need[1])?, offset: next(need[2])? });
        }
        at += 4 + usize::from(len);
    }
    if need.iter().any(|n| *n) {
        Err("a size or offset is 0xFFFFFFFF but there is no zip64 extra field".to_owned())
    } else {
        Ok(Zip64Fields { compressed: None, offset: None })
    }
}

/// A local file header, decoded.
struct Local {
    name: Vec<u8>,
    flags: u16,
    method: u16,
    /// The compressed size it states (`None` when deferred to a data descriptor).
    compressed: Option<u64>,
    data_offset: usize,
}

fn read_local(data: &[u8], off: usize) -> Result<Local, String> {
    let h = bytes_at(data, off, LOCAL_LEN).ok_or("a local header runs past the end")?;
    if &h[..4] != LOCAL_SIG {
        return Err("there is no local header where the central directory points".to_owned());
    }
    let flags = u16::from_le_bytes([h[6], h[7]]);
    let method = u16::from_le_bytes([h[8], h[9]]);
    let csize = u32::from_le_bytes([h[18], h[19], h[20], h[21]]);
    let usize_ = u32::from_le_bytes([h[22], h[23], h[24], h[25]]);
    let name_len = usize::from(u16::from_le_bytes([h[26], h[27]]));
    let extra_len = usize::from(u16::from_le_bytes([h[28], h[29]]));
    let name =
        bytes_at(data, off + LOCAL_LEN, name_len).ok_or("a member name runs past the end")?;
    let extra = bytes_at(data, off + LOCAL_LEN + name_len, extra_len)
        .ok_or("a local extra field runs past the end")?;
    // 4.5.3: in a local header the zip64 field holds both sizes when either overflowed.
    let big = csize == u32::MAX || usize_ == u32::MAX;
    let compressed = if big {
        let z = zip64_fields(extra, [true, true, false])?;
        z.compressed
    } else {
        Some(u64::from(csize))
    };
    let deferred = flags & FLAG_DESCRIPTOR != 0 && compressed == Some(0);
    Ok(Local {
        name: name.to_vec(),
        flags,
        method,
        compressed: if deferred { None } else { compressed },
        data_offset: off + LOCAL_LEN + name_len + extra_len,
    })
}

/// A central directory header, decoded.
struct Central {
    name: Vec<u8>,
    flags: u16,
    method: u16,
    compressed: u64,
    header: u64,
    /// Its own length (fixed part, name, extra, comment).
    len: usize,
}

fn read_central(data: &[u8], at: usize) -> Result<Central, String> {
    let h = bytes_at(data, at, CENTRAL_LEN).ok_or("the central directory is cut off")?;
    if &h[..4] != CENTRAL_SIG {
        return Err("the central directory is damaged (a header signature is missing)".into());
    }
    let flags = u16::from_le_bytes([h[8], h[9]]);
    let method = u16::from_le_bytes([h[10], h[11]]);
    let csize = u32::from_le_bytes([h[20], h[21], h[22], h[23]]);
    let usize_ = u32::from_le_bytes([h[24], h[25], h[26], h[27]]);
    let name_len = usize::from(u16::from_le_bytes([h[28], h[29]]));
    let extra_len = usize::from(u16::from_le_bytes([h[30], h[31]]));
    let comment_len = usize::from(u16::from_le_bytes([h[32], h[33]]));
    let offset = u32::from_le_bytes([h[42], h[43], h[44], h[45]]);
    let name =
        bytes_at(data, at + CENTRAL_LEN, name_len).ok_or("the central directory is cut off")?;
    let extra = bytes_at(data, at + CENTRAL_LEN + name_len, extra_len)
        .ok_or("the central directory is cut off")?;
    let z = zip64_fields(extra, [usize_ == u32::MAX, csize == u32::MAX, offset == u32::MAX])?;
    Ok(Central {
        name: name.to_vec(),
        flags,
        method,
        compressed: z.compressed.unwrap_or(u64::from(csize)),
        header: z.offset.unwrap_or(u64::from(offset)),
        len: CENTRAL_LEN + name_len + extra_len + comment_len,
    })
}

/// One way of reading the central directory: where it starts, how far it runs (bytes, as
/// Python's `zipfile` reads it, or a count of entries, as miniz does), and by how much the
/// local header offsets it gives are shifted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Directory {
    start: usize,
    size: Option<usize>,
    count: Option<u64>,
    shift: i128,
}

/// Size of the zip64 end record (without extensible data) and of its locator: `zipfile`
/// expects both right before the end record.
const EOCD64_LEN: usize = 56;

/// The end of central directory record Python's `zipfile` takes (`_EndRecData`): the last
/// 22 bytes when they are one without a comment, else the last signature in the final
/// 64 KiB, whatever its comment length says. `None` when there is none.
fn zipfile_eocd(data: &[u8]) -> Option<usize> {
    let n = data.len();
    if n >= EOCD_LEN && &data[n - EOCD_LEN..n - EOCD_LEN + 4] == EOCD_SIG && data[n - 2..] == [0, 0]
    {
        return Some(n - EOCD_LEN);
    }
    eocd_candidates(data).last().copied()
}

/// Every end record signature in the final 64 KiB with a whole record after it.
fn eocd_candidates(data: &[u8]) -> Vec<usize> {
    let tail_start = data.len().saturating_sub(EOCD_LEN + MAX_COMMENT);
    data[tail_start..]
        .windows(4)
        .enumerate()
        .filter(|(i, w)| *w == EOCD_SIG && tail_start + i + EOCD_LEN <= data.len())
        .map(|(i, _)| tail_start + i)
        .collect()
}

/// How `zipfile` reads the directory of the end record at `e` (`_RealGetContents`): the
/// zip64 end record right before its locator when there is one, the directory where the
/// end record says minus what precedes the archive (`concat`), `size` bytes of entries.
/// Also the other readings loaders use: the offset as written (miniz, PyTorch's reader),
/// the entry count, the record the zip64 locator points at. The first is `zipfile`'s.
fn directories(data: &[u8], e: usize, problems: &mut Vec<String>) -> Vec<Directory> {
    let Some(r) = bytes_at(data, e, EOCD_LEN) else { return Vec::new() };
    let mut count = u64::from(u16::from_le_bytes([r[10], r[11]]));
    let mut size = u64::from(u32::from_le_bytes([r[12], r[13], r[14], r[15]]));
    let mut offset = u64::from(u32::from_le_bytes([r[16], r[17], r[18], r[19]]));
    let mut zip64 = false;
    let mut alternatives = Vec::new();
    if let Some(l) = e.checked_sub(EOCD64_LOCATOR_LEN)
        && bytes_at(data, l, 4) == Some(EOCD64_LOCATOR_SIG)
    {
        let record = |at: usize| -> Option<(u64, u64, u64)> {
            (bytes_at(data, at, 4)? == EOCD64_SIG).then(|| {
                Some((u64le(data, at + 32)?, u64le(data, at + 40)?, u64le(data, at + 48)?))
            })?
        };
        let before = l.checked_sub(EOCD64_LEN);
        if let Some((c, s, o)) = before.and_then(record) {
            (count, size, offset, zip64) = (c, s, o, true);
        } else {
            problems.push("the zip64 end record is not right before its locator".into());
        }
        // The locator's own offset, which other readers follow.
        let pointed = u64le(data, l + 8).and_then(to_usize);
        if pointed != before
            && let Some((c, s, o)) = pointed.and_then(record)
            && let (Some(start), Some(size)) = (to_usize(o), to_usize(s))
        {
            alternatives.push(Directory { start, size: Some(size), count: Some(c), shift: 0 });
        }
    }
    let trailer = if zip64 { (EOCD64_LEN + EOCD64_LOCATOR_LEN) as i128 } else { 0 };
    let concat = e as i128 - i128::from(size) - i128::from(offset) - trailer;
    let mut out = Vec::new();
    match (usize::try_from(i128::from(offset) + concat).ok(), to_usize(size)) {
        (Some(start), Some(size)) if concat >= 0 => {
            if concat > 0 {
                problems.push(format!(
                    "{concat} bytes precede the archive (its offsets are shifted by that much)"
                ));
            }
            out.push(Directory { start, size: Some(size), count: None, shift: concat });
            out.push(Directory { start, size: None, count: Some(count), shift: concat });
            if concat > 0
                && let Some(o) = to_usize(offset)
            {
                out.push(Directory { start: o, size: Some(size), count: Some(count), shift: 0 });
            }
        }
        _ => problems.push(
            "the central directory offset is out of range: zipfile refuses the archive".into(),
        ),
    }
    out.extend(alternatives);
    out
}

/// Reads a zip archive both ways — the central directory and the local headers — and
/// returns every member either view shows. The directory is read as Python's `zipfile`
/// reads it; every other reading a loader may make (another end record, the offsets as
/// written, the entry count, the zip64 locator's offset) is read too, and members only it
/// shows are scanned and reported.
pub(crate) fn members(data: &[u8]) -> Listing {
    let mut out = Listing::default();
    // Local headers listed by some reading of the directory, by offset.
    let mut listed: BTreeMap<usize, Member> = BTreeMap::new();
    match zipfile_eocd(data) {
        Some(e) => {
            let mut readings = directories(data, e, &mut out.problems);
            for other in eocd_candidates(data).into_iter().filter(|&c| c != e) {
                readings.extend(directories(data, other, &mut Vec::new()));
            }
            readings.dedup();
            for (i, dir) in readings.iter().enumerate() {
                if i == 0 {
                    central_members(data, dir, &mut listed, &mut out);
                    continue;
                }
                // Another reading: its members that the loader's reading lacks are scanned,
                // and the disagreement reported.
                let mut alt = Listing::default();
                let mut alt_listed = BTreeMap::new();
                central_members(data, dir, &mut alt_listed, &mut alt);
                let extra: Vec<Member> = alt_listed
                    .into_values()
                    .chain(alt.members)
                    .filter(|m| !listed.values().chain(&out.members).any(|k| same(k, m)))
                    .collect();
                if !extra.is_empty() {
                    out.problems.push(format!(
                        "another reading of the archive's directory (as other zip readers take it) lists {} member(s) the zipfile reading does not: {}",
                        extra.len(),
                        extra.iter().map(|m| format!("{:?}", m.name)).collect::<Vec<_>>().join(", ")
                    ));
                    for m in extra {
                        listed.entry(m.header).or_insert(Member { seen: Seen::Central, ..m });
                    }
                }
            }
        }
        None => out.problems.push(
            "no end of central directory record: the archive cannot be opened by a loader".into(),
        ),
    }
    // The local headers, walked from the start, skipping each member's data.
    let mut off = 0usize;
    let mut unlisted = Vec::new();
    while let Some(i) = data.get(off..).and_then(|rest| find(rest, LOCAL_SIG)) {
        let at = off + i;
        if listed.len() + unlisted.len() >= MAX_ENTRIES {
            out.problems.push(format!("more than {MAX_ENTRIES} members: the rest were not read"));
            break;
        }
        if let Some(m) = listed.get(&at) {
            off = m.data_offset.saturating_add(m.compressed).max(at + 4);
            continue;
        }
        match local_only(data, at) {
            Ok(m) => {
                off = m.data_offset.saturating_add(m.compressed).max(at + 4);
                out.problems.push(format!(
                    "member {:?} at byte {at} has a local header but is not in the central directory",
                    m.name
                ));
                unlisted.push(m);
            }
            Err(_) => off = at + 4,
        }
    }
    out.members.extend(listed.into_values());
    out.members.extend(unlisted);
    out.members.sort_by_key(|m| (m.header, m.seen != Seen::Both));
    out
}

/// Whether two readings give the same member (same bytes under the same name).
fn same(a: &Member, b: &Member) -> bool {
    a.name == b.name
        && a.data_offset == b.data_offset
        && a.compressed == b.compressed
        && a.method == b.method
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The members of one reading of the central directory, each checked against its local
/// header.
fn central_members(
    data: &[u8],
    dir: &Directory,
    listed: &mut BTreeMap<usize, Member>,
    out: &mut Listing,
) {
    let mut at = dir.start;
    let end = dir.size.map(|s| dir.start.saturating_add(s));
    let shift = dir.shift;
    let mut seen = 0u64;
    loop {
        let more = match (end, dir.count) {
            (Some(end), _) => at < end,
            (None, Some(count)) => seen < count,
            (None, None) => false,
        };
        if !more {
            break;
        }
        if seen as usize >= MAX_ENTRIES {
            out.problems.push(format!("more than {MAX_ENTRIES} members: the rest were not read"));
            return;
        }
        let c = match read_central(data, at) {
            Ok(c) => c,
            Err(e) => {
                out.problems.push(format!("central directory entry {}: {e}", seen + 1));
                return;
            }
        };
        seen += 1;
        at += c.len;
        let display = String::from_utf8_lossy(&c.name).into_owned();
        let Some(header) = usize::try_from(i128::from(c.header) + shift).ok() else {
            out.problems
                .push(format!("member {display:?}: its local header offset is out of range"));
            continue;
        };
        let local = match read_local(data, header) {
            Ok(l) => l,
            Err(e) => {
                out.problems.push(format!("member {display:?}: {e}"));
                continue;
            }
        };
        let Some(size) = to_usize(c.compressed) else {
            out.problems.push(format!("member {display:?}: its size is out of range"));
            continue;
        };
        let member = Member {
            name: display.clone(),
            method: c.method,
            flags: c.flags,
            data_offset: local.data_offset,
            compressed: size,
            header,
            seen: Seen::Both,
        };
        if bytes_at(data, member.data_offset, size).is_none() {
            out.problems.push(format!("member {display:?} runs past the end of the archive"));
            continue;
        }
        let mut disagree = Vec::new();
        if local.name != c.name {
            disagree.push(format!(
                "its local header names it {:?}",
                String::from_utf8_lossy(&local.name)
            ));
        }
        if local.method != c.method {
            disagree.push(format!(
                "compression method {} in the local header, {} in the central directory",
                local.method, c.method
            ));
        }
        if (local.flags ^ c.flags) & FLAG_ENCRYPTED != 0 {
            disagree.push("the encryption flags differ".into());
        }
        let local_size = local.compressed.and_then(to_usize);
        if let Some(ls) = local_size
            && ls != size
        {
            disagree.push(format!(
                "{ls} compressed bytes in the local header, {size} in the central directory"
            ));
        }
        if !disagree.is_empty() {
            out.problems.push(format!(
                "member {display:?}: the central directory and the local header disagree ({}): both readings were scanned",
                disagree.join("; ")
            ));
            // The local header's reading too, as a streaming reader would take it.
            let as_local = Member {
                name: String::from_utf8_lossy(&local.name).into_owned(),
                method: local.method,
                flags: local.flags,
                compressed: local_size.unwrap_or(size),
                seen: Seen::Local,
                ..member.clone()
            };
            if bytes_at(data, as_local.data_offset, as_local.compressed).is_some() {
                out.members.push(as_local);
            }
            listed.insert(header, Member { seen: Seen::Central, ..member });
        } else if listed.insert(header, member).is_some() {
            out.problems.push(format!(
                "two central directory entries point at the local header at byte {header}"
            ));
        }
    }
    if seen == 0 && find(data, LOCAL_SIG).is_some() {
        out.problems.push("the central directory lists no members".into());
    }
}

/// A member known only from its local header. When the sizes are deferred to a data
/// descriptor, a deflated member's length is where its deflate stream ends; a stored
/// one's is the first data descriptor whose stated size matches.
fn local_only(data: &[u8], at: usize) -> Result<Member, String> {
    let l = read_local(data, at)?;
    let name = String::from_utf8_lossy(&l.name).into_owned();
    let compressed = match l.compressed.and_then(to_usize) {
        Some(c) => c,
        None => deferred_size(data, l.data_offset, l.method)
            .ok_or_else(|| format!("member {name:?}: the end of its data cannot be found"))?,
    };
    if bytes_at(data, l.data_offset, compressed).is_none() {
        return Err(format!("member {name:?} runs past the end of the archive"));
    }
    Ok(Member {
        name,
        method: l.method,
        flags: l.flags,
        data_offset: l.data_offset,
        compressed,
        header: at,
        seen: Seen::Local,
    })
}

/// The compressed size of a member whose sizes are in a data descriptor.
fn deferred_size(data: &[u8], start: usize, method: u16) -> Option<usize> {
    let rest = data.get(start..)?;
    if method == DEFLATED {
        let mut d = flate2::Decompress::new(false);
        let mut sink = vec![0u8; 1 << 16];
        loop {
            let before = d.total_in() as usize;
            let status =
                d.decompress(rest.get(before..)?, &mut sink, flate2::FlushDecompress::None).ok()?;
            if status == flate2::Status::StreamEnd {
                return Some(d.total_in() as usize);
            }
            if d.total_in() as usize == before && before >= rest.len() {
                return None;
            }
        }
    }
    // Stored (or unknown): the first descriptor whose compressed size equals its offset.
    let mut from = 0;
    while let Some(i) = rest.get(from..).and_then(|r| find(r, DESCRIPTOR_SIG)) {
        let pos = from + i;
        if u32le(rest, pos + 8).is_some_and(|c| c as usize == pos) {
            return Some(pos);
        }
        from = pos + 1;
    }
    None
}

/// A member's bytes, or why they could not be had; decompression is charged to `budget`.
pub(crate) fn extract(data: &[u8], m: &Member, budget: &mut u64) -> Result<Vec<u8>, String> {
    // The encryption flag is not trusted: PyTorch's reader ignores it and reads the bytes
    // as they are, so they are read that way here too (real ciphertext fails to inflate, or
    // is not a model format).
    let raw = bytes_at(data, m.data_offset, m.compressed).ok_or("the member is cut off")?;
    let cap = output_cap(m.compressed, *budget);
    let bomb = || {
        format!(
            "decompresses to more than {cap} bytes (ratio over {MAX_RATIO}:1 or total over the limit): a zip bomb?"
        )
    };
    let out = match m.method {
        STORED => raw.to_vec(),
        DEFLATED => miniz_oxide::inflate::decompress_to_vec_with_limit(raw, cap).map_err(|e| {
            match e.status {
                miniz_oxide::inflate::TINFLStatus::HasMoreOutput => bomb(),
                _ => format!("deflate data is corrupt ({:?})", e.status),
            }
        })?,
        BZIP2 => {
            let mut out = Vec::new();
            let mut r = std::io::Read::take(bzip2::read::BzDecoder::new(raw), cap as u64 + 1);
            std::io::Read::read_to_end(&mut r, &mut out)
                .map_err(|e| format!("bzip2 data is corrupt ({e})"))?;
            if out.len() > cap {
                return Err(bomb());
            }
            out
        }
        LZMA => {
            // 4.4.5 / Python's zipfile: a 2-byte version, the size of the properties, the
            // properties (lc/lp/pb and dictionary size), then a raw LZMA stream ended by a
            // marker: that is the "alone" format with an unknown size.
            let props_len = usize::from(u16le(raw, 2).ok_or("the LZMA header is cut off")?);
            let props = bytes_at(raw, 4, props_len).filter(|p| p.len() >= 5);
            let props = props.ok_or("the LZMA properties are malformed")?;
            let mut alone = props[..5].to_vec();
            alone.extend([0xff; 8]);
            alone.extend(raw.get(4 + props_len..).unwrap_or_default());
            let mut left = *budget;
            let out = crate::compressed::decompress(crate::Codec::Lzma, &alone, &mut left)?;
            *budget = left;
            return Ok(out);
        }
        other => {
            return Err(format!("compression method {other} is not supported by this scanner"));
        }
    };
    *budget = budget.saturating_sub(out.len() as u64);
    Ok(out)
}
