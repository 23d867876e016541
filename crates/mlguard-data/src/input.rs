//! Opening a table as it was sent: compressed, in another encoding, with another
//! delimiter, or not a table at all.
//!
//! Every data command reads its file through [`open_reader`] (or [`open_path`]), so each
//! one behaves the same way on the same file: gzip, bzip2, xz and zstd are read by their
//! content (not by the file name); Parquet files are read as CSV text
//! ([`crate::parquet_csv`]: nulls empty, dates and timestamps ISO 8601), and so are Arrow
//! IPC (Feather) files ([`crate::arrow_csv`]) and the first
//! sheet of an Excel or OpenDocument workbook ([`crate::workbook_csv`]); UTF-16 (with its byte order mark) and files that are not UTF-8
//! (Latin-1 and Windows-1252, what Excel and older systems write) are read as text
//! transcoded to UTF-8, unless `--encoding` says which encoding it is; other binary files
//! (zip archives that are not workbooks, pickles, NumPy arrays, anything with NUL bytes)
//! are refused with what they look like. The first lines are sniffed for the delimiter
//! (`,`, `;`, tab or `|`), a decimal comma and a pandas index column.

use std::io::{self, Cursor, Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::Arc;

use encoding_rs::{Encoding, UTF_8, WINDOWS_1252};

use crate::error::DataError;

/// Bytes looked at before reading: enough for the first lines of any table.
const HEAD: usize = 64 * 1024;

/// What was found out about a table before reading it.
#[derive(Debug, Clone, PartialEq)]
pub struct Sniffed {
    /// The compression read through (`gzip`, `bzip2`, `xz`, `zstd`), if any.
    pub compression: Option<&'static str>,
    /// A Parquet file, read as CSV text: what its footer says.
    pub parquet: Option<crate::parquet_csv::ParquetInfo>,
    /// A workbook, its first sheet read as CSV text.
    pub workbook: Option<crate::workbook_csv::WorkbookInfo>,
    /// An Arrow IPC (Feather v2) file, read as CSV text.
    pub arrow: Option<crate::arrow_csv::ArrowInfo>,
    /// The encoding the text was read in (`UTF-8`, `UTF-16LE`, `windows-1252`, ...).
    pub encoding: &'static str,
    /// Whether the encoding was guessed because the bytes were not UTF-8 (worth a note).
    pub encoding_guessed: bool,
    /// The delimiter the first lines agree on, if they agree on one.
    pub delimiter: Option<u8>,
    /// Numbers with a decimal comma (`3,75`) in the first lines, and none with a point.
    pub decimal_comma: bool,
    /// The first column has no name and counts rows from 0 or 1: the index `df.to_csv()`
    /// writes, or R's row names (`write.csv`).
    pub index_column: bool,
    /// The name that column is read under ([`INDEX_COLUMN`]).
    pub index_name: Option<String>,
    /// The quote the first lines use: `"` (RFC 4180), or `'`, in which case the text is
    /// read as if it were quoted with `"`.
    pub quote: u8,
}

/// An encoding by one of its WHATWG labels (`utf-8`, `latin1`, `windows-1252`, `utf-16le`,
/// `iso-8859-15`, ...).
pub fn encoding_for_label(label: &str) -> Result<&'static Encoding, DataError> {
    Encoding::for_label(label.trim().as_bytes()).ok_or_else(|| {
        DataError::Input(format!(
            "unknown encoding {label:?}: use a name such as utf-8, utf-16le, latin1 or windows-1252"
        ))
    })
}

/// Opens the table at `path`; see [`open_reader`].
pub fn open_path(
    path: &Path,
    encoding: Option<&'static Encoding>,
) -> Result<(Box<dyn Read + Send>, Sniffed), DataError> {
    let owned = path.to_owned();
    open_reopenable(path, Arc::new(move || std::fs::File::open(&owned)), encoding)
}

/// Opens a table whose bytes can be read again from any position as often as needed (a
/// file; an encrypted scratch file): `open` gives a fresh, independent reader at the start
/// each time. Parquet and Arrow files are read where they lie (their footers are at the
/// end); anything else as [`open_reader`] reads it. `name` names the source in errors.
pub fn open_reopenable<R: Read + Seek + Send + 'static>(
    name: &Path,
    open: Arc<dyn Fn() -> io::Result<R> + Send + Sync>,
    encoding: Option<&'static Encoding>,
) -> Result<(Box<dyn Read + Send>, Sniffed), DataError> {
    let failed = |source| DataError::Read { path: name.to_owned(), source };
    let mut src = open().map_err(failed)?;
    let mut magic = [0u8; 6];
    let n = read_up_to(&mut src, &mut magic).map_err(failed)?;
    if magic[..n].starts_with(crate::parquet_csv::MAGIC) {
        let len = src.seek(SeekFrom::End(0)).map_err(failed)?;
        return parquet(crate::parquet_csv::reader(Reopened { open, len })?);
    }
    src.rewind().map_err(failed)?;
    if magic[..n].starts_with(crate::arrow_csv::MAGIC) {
        return arrow(crate::arrow_csv::reader(src)?);
    }
    open_reader(Box::new(src), encoding)
}

/// A source read by opening it again for each range (Parquet reads its footer, then its
/// column chunks).
struct Reopened<R> {
    open: Arc<dyn Fn() -> io::Result<R> + Send + Sync>,
    len: u64,
}

impl<R> parquet::file::reader::Length for Reopened<R> {
    fn len(&self) -> u64 {
        self.len
    }
}

impl<R: Read + Seek> parquet::file::reader::ChunkReader for Reopened<R> {
    type T = R;

    fn get_read(&self, start: u64) -> parquet::errors::Result<R> {
        let mut src = (self.open)()?;
        src.seek(SeekFrom::Start(start))?;
        Ok(src)
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<bytes::Bytes> {
        // Ranges come from the file's own footer: one past its end is refused before
        // anything is allocated for it.
        if start.checked_add(length as u64).is_none_or(|end| end > self.len) {
            return Err(parquet::errors::ParquetError::EOF(format!(
                "a range of {length} bytes at {start} is past the end of the file ({} bytes)",
                self.len
            )));
        }
        let mut buf = vec![0; length];
        self.get_read(start)?.read_exact(&mut buf)?;
        Ok(buf.into())
    }
}

/// Reads until `buf` is full or the input ends; how many bytes were read.
fn read_up_to(src: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match src.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// An Arrow file's CSV text and what is known of it.
fn arrow(
    (reader, info): (Box<dyn Read + Send>, crate::arrow_csv::ArrowInfo),
) -> Result<(Box<dyn Read + Send>, Sniffed), DataError> {
    let mut sniffed = sniff("");
    sniffed.delimiter = Some(b',');
    sniffed.arrow = Some(info);
    Ok((reader, sniffed))
}

/// A Parquet file's CSV text and what is known of it.
fn parquet(
    (reader, info): (Box<dyn Read + Send>, crate::parquet_csv::ParquetInfo),
) -> Result<(Box<dyn Read + Send>, Sniffed), DataError> {
    let mut sniffed = sniff("");
    sniffed.delimiter = Some(b',');
    sniffed.parquet = Some(info);
    Ok((reader, sniffed))
}

/// Reads what `src` holds as UTF-8 text: decompressed and transcoded as needed, with what
/// was sniffed from its first lines. `encoding` forces the text's encoding.
pub fn open_reader(
    src: Box<dyn Read + Send>,
    encoding: Option<&'static Encoding>,
) -> Result<(Box<dyn Read + Send>, Sniffed), DataError> {
    let (head, src) = peek(src, HEAD)?;
    let (compression, src): (Option<&'static str>, Box<dyn Read + Send>) = if head
        .starts_with(&[0x1f, 0x8b])
    {
        (Some("gzip"), Box::new(flate2::read::MultiGzDecoder::new(src)))
    } else if head.starts_with(b"BZh") && head.get(3).is_some_and(|b| (b'1'..=b'9').contains(b)) {
        (Some("bzip2"), Box::new(bzip2::read::MultiBzDecoder::new(src)))
    } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00]) {
        (Some("xz"), Box::new(xz_reader(src)))
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        let decoder = zstd::stream::read::Decoder::new(src)
            .map_err(|e| DataError::Input(format!("cannot read the zstd stream: {e}")))?;
        (Some("zstd"), Box::new(decoder))
    } else {
        (None, src)
    };
    let (head, mut src) = if compression.is_some() { peek(src, HEAD)? } else { (head, src) };
    if head.starts_with(crate::parquet_csv::MAGIC) {
        // Not a file to read in place (standard input, an upload, compressed): in memory.
        let mut all = Vec::new();
        src.read_to_end(&mut all)
            .map_err(|e| DataError::Input(format!("cannot read the input: {e}")))?;
        let (reader, info) = crate::parquet_csv::reader(bytes::Bytes::from(all))?;
        let (reader, mut sniffed) = parquet((reader, info))?;
        sniffed.compression = compression;
        return Ok((reader, sniffed));
    }
    if head.starts_with(crate::arrow_csv::MAGIC) {
        let mut all = Vec::new();
        src.read_to_end(&mut all)
            .map_err(|e| DataError::Input(format!("cannot read the input: {e}")))?;
        let (reader, mut sniffed) = arrow(crate::arrow_csv::reader(Cursor::new(all))?)?;
        sniffed.compression = compression;
        return Ok((reader, sniffed));
    }
    if head.starts_with(b"PK\x03\x04") || head.starts_with(XLS) {
        let mut all = Vec::new();
        src.read_to_end(&mut all)
            .map_err(|e| DataError::Input(format!("cannot read the input: {e}")))?;
        let (reader, info) = crate::workbook_csv::reader(all)?;
        let mut sniffed = sniff("");
        sniffed.delimiter = Some(b',');
        sniffed.compression = compression;
        sniffed.workbook = Some(info);
        return Ok((reader, sniffed));
    }
    if let Some(what) = binary_kind(&head) {
        return Err(DataError::Input(format!("this is not a CSV file: it looks like {what}")));
    }
    let bom = Encoding::for_bom(&head).map(|(e, _)| e);
    let (chosen, guessed) = match (encoding, bom) {
        (Some(e), _) => (e, false),
        (None, Some(e)) => (e, false),
        (None, None) if utf8_prefix(&head) => (UTF_8, false),
        (None, None) => (WINDOWS_1252, true),
    };
    let text_head = chosen.decode_with_bom_removal(&head).0.into_owned();
    // UTF-8 is read as it is (the CSV reader skips its byte order mark and names the line
    // of any invalid byte); every other encoding is transcoded.
    let src: Box<dyn Read + Send> =
        if chosen == UTF_8 { src } else { Box::new(Transcode::new(src, chosen)) };
    let mut sniffed = sniff(&text_head);
    sniffed.compression = compression;
    sniffed.encoding = chosen.name();
    sniffed.encoding_guessed = guessed;
    let src: Box<dyn Read + Send> = if sniffed.quote == b'\'' {
        Box::new(Requote::new(src, sniffed.delimiter.unwrap_or(b',')))
    } else {
        src
    };
    let src = if sniffed.index_column { name_the_index(src, &mut sniffed)? } else { src };
    Ok((src, sniffed))
}

/// The name given to an unnamed first column that counts the rows (pandas' index, R's row
/// names), so every command reads the file as it is, the same way.
pub const INDEX_COLUMN: &str = "row_name";

/// Names the unnamed first header cell [`INDEX_COLUMN`] (with `_` appended while another
/// column has that name): the header line is rewritten, the rows pass as they are.
fn name_the_index(
    mut src: Box<dyn Read + Send>,
    sniffed: &mut Sniffed,
) -> Result<Box<dyn Read + Send>, DataError> {
    let mut header = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        match src.read(&mut byte) {
            Ok(0) => break,
            Ok(_) => {
                header.push(byte[0]);
                if byte[0] == b'\n' || header.len() > HEAD {
                    break;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(DataError::Input(format!("cannot read the input: {e}"))),
        }
    }
    let text = String::from_utf8_lossy(&header).into_owned();
    let d = char::from(sniffed.delimiter.unwrap_or(b','));
    // Skip a byte order mark; the first cell is empty or `""`.
    let body = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let rest = body.strip_prefix("\"\"").unwrap_or(body);
    let mut name = INDEX_COLUMN.to_owned();
    while rest.split(d).any(|c| c.trim().trim_matches('"') == name) {
        name.push('_');
    }
    sniffed.index_name = Some(name.clone());
    let renamed = format!("{name}{rest}");
    Ok(Box::new(Cursor::new(renamed.into_bytes()).chain(src)))
}

/// The first `n` bytes of `src` (fewer at its end), and a reader of all of it.
fn peek(
    mut src: Box<dyn Read + Send>,
    n: usize,
) -> Result<(Vec<u8>, Box<dyn Read + Send>), DataError> {
    let mut head = Vec::with_capacity(n);
    (&mut src)
        .take(n as u64)
        .read_to_end(&mut head)
        .map_err(|e| DataError::Input(format!("cannot read the input: {e}")))?;
    let rest: Box<dyn Read + Send> = Box::new(Cursor::new(head.clone()).chain(src));
    Ok((head, rest))
}

/// The first bytes of an OLE compound file: an Excel `.xls` workbook (or another Office
/// document, refused as not a workbook).
const XLS: &[u8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1";

/// What a binary file looks like, from its first bytes; `None` for text.
fn binary_kind(head: &[u8]) -> Option<&'static str> {
    const KINDS: &[(&[u8], &str)] = &[
        (b"\x93NUMPY", "a NumPy array"),
        (b"\x89HDF\r\n\x1a\n", "an HDF5 file"),
        (b"SQLite format 3\x00", "an SQLite database"),
        (b"%PDF", "a PDF document"),
    ];
    if let Some((_, what)) = KINDS.iter().find(|(magic, _)| head.starts_with(magic)) {
        return Some(what);
    }
    if head.first() == Some(&0x80) && head.get(1).is_some_and(|p| (2..=5).contains(p)) {
        return Some("a pickle");
    }
    // UTF-16 text has NUL bytes; other text has none.
    let utf16 = head.starts_with(&[0xff, 0xfe]) || head.starts_with(&[0xfe, 0xff]);
    (!utf16 && head.contains(&0)).then_some("a binary file (it has NUL bytes)")
}

/// Whether `head` is UTF-8, but for a character cut at its end.
fn utf8_prefix(head: &[u8]) -> bool {
    match std::str::from_utf8(head) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none(),
    }
}

/// The dialect the first lines of `text` agree on.
fn sniff(text: &str) -> Sniffed {
    // Whole lines only: the last one may be cut.
    let lines: Vec<&str> = text
        .lines()
        .take(if text.len() >= HEAD { text.lines().count().saturating_sub(1) } else { usize::MAX })
        .filter(|l| !l.trim().is_empty())
        .take(100)
        .collect();
    let mut sniffed = Sniffed {
        compression: None,
        parquet: None,
        workbook: None,
        arrow: None,
        encoding: "UTF-8",
        encoding_guessed: false,
        delimiter: None,
        decimal_comma: false,
        index_column: false,
        index_name: None,
        quote: b'"',
    };
    let Some(header) = lines.first() else { return sniffed };
    sniffed.quote = sniff_quote(&lines);
    let q = sniffed.quote;
    // A delimiter is one the header has and most lines have as often.
    let mut best: Option<(u8, usize)> = None;
    for d in [b',', b';', b'\t', b'|'] {
        let n = count_outside_quotes(header, d, q);
        if n == 0 {
            continue;
        }
        let agree = lines[1..].iter().filter(|l| count_outside_quotes(l, d, q) == n).count();
        if lines.len() > 1 && (agree as f64) < 0.8 * (lines.len() - 1) as f64 {
            continue;
        }
        if best.is_none_or(|(_, m)| n > m) {
            best = Some((d, n));
        }
    }
    sniffed.delimiter = best.map(|(d, _)| d);
    let d = sniffed.delimiter.unwrap_or(b',');
    fn cells(l: &str, d: u8) -> Vec<&str> {
        l.split(char::from(d)).map(|c| c.trim().trim_matches(['"', '\''])).collect()
    }
    if d != b',' {
        let numeric = |c: &str, sep: char| {
            let c = c.strip_prefix('-').unwrap_or(c);
            c.split_once(sep).is_some_and(|(a, b)| {
                !a.is_empty()
                    && !b.is_empty()
                    && a.bytes().chain(b.bytes()).all(|x| x.is_ascii_digit())
            })
        };
        let (mut comma, mut point) = (0, 0);
        for l in &lines[1..] {
            for c in cells(l, d) {
                comma += usize::from(numeric(c, ','));
                point += usize::from(numeric(c, '.'));
            }
        }
        sniffed.decimal_comma = comma > 0 && point == 0;
    }
    // pandas' index counts from 0, R's row names from 1.
    let first_unnamed = cells(header, d).first().is_some_and(|c| c.is_empty());
    let counts_from = |base: usize| {
        lines[1..]
            .iter()
            .enumerate()
            .all(|(i, l)| cells(l, d).first() == Some(&(i + base).to_string().as_str()))
    };
    sniffed.index_column = first_unnamed && lines.len() > 1 && (counts_from(0) || counts_from(1));
    sniffed
}

/// How many times `d` appears in `line` outside quotes (`q`).
fn count_outside_quotes(line: &str, d: u8, q: u8) -> usize {
    let mut quoted = false;
    line.bytes()
        .filter(|&b| {
            if b == q {
                quoted = !quoted;
            }
            b == d && !quoted
        })
        .count()
}

/// The quote of the first lines: `'` when cells are wrapped in it (Python's
/// `csv.writer(quotechar="'")`, pandas' `to_csv(quotechar="'")`) at least once a line on
/// average, and in `"` never; `"` otherwise (RFC 4180).
fn sniff_quote(lines: &[&str]) -> u8 {
    let starts = |q: u8| {
        lines
            .iter()
            .map(|l| {
                let b = l.as_bytes();
                (0..b.len())
                    .filter(|&i| {
                        b[i] == q && (i == 0 || matches!(b[i - 1], b',' | b';' | b'\t' | b'|'))
                    })
                    .count()
            })
            .sum::<usize>()
    };
    let ends = |q: u8| {
        lines
            .iter()
            .map(|l| {
                let b = l.trim_end().as_bytes();
                (0..b.len())
                    .filter(|&i| {
                        b[i] == q
                            && (i + 1 == b.len() || matches!(b[i + 1], b',' | b';' | b'\t' | b'|'))
                    })
                    .count()
            })
            .sum::<usize>()
    };
    let single = starts(b'\'');
    if starts(b'"') == 0 && single >= lines.len() && 2 * ends(b'\'') >= single {
        b'\''
    } else {
        b'"'
    }
}

/// Text quoted with `'` read as RFC 4180 text quoted with `"`: a `'` opening a field opens
/// a quoted field, `''` inside it is a `'`, a `"` inside it is doubled; everything else
/// passes as it is (a streaming state machine over bytes: both quotes are ASCII).
struct Requote<R> {
    src: R,
    delimiter: u8,
    state: QuoteState,
    input: Vec<u8>,
    output: Vec<u8>,
    at: usize,
    done: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum QuoteState {
    FieldStart,
    Unquoted,
    Quoted,
    /// A `'` inside a quoted field: the end of it, or the first of `''`.
    QuoteInQuoted,
}

impl<R: Read> Requote<R> {
    fn new(src: R, delimiter: u8) -> Requote<R> {
        Requote {
            src,
            delimiter,
            state: QuoteState::FieldStart,
            input: vec![0; 64 * 1024],
            output: Vec::with_capacity(130 * 1024),
            at: 0,
            done: false,
        }
    }

    fn push(&mut self, b: u8) {
        use QuoteState::*;
        let out = &mut self.output;
        match self.state {
            FieldStart if b == b'\'' => {
                out.push(b'"');
                self.state = Quoted;
            }
            Quoted if b == b'\'' => self.state = QuoteInQuoted,
            Quoted if b == b'"' => out.extend_from_slice(b"\"\""),
            Quoted => out.push(b),
            QuoteInQuoted if b == b'\'' => {
                out.push(b'\'');
                self.state = Quoted;
            }
            QuoteInQuoted => {
                out.push(b'"');
                self.state = Unquoted;
                self.push(b);
            }
            FieldStart | Unquoted => {
                out.push(b);
                self.state = if b == self.delimiter || b == b'\n' { FieldStart } else { Unquoted };
            }
        }
    }
}

impl<R: Read> Read for Requote<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.at == self.output.len() && !self.done {
            self.output.clear();
            self.at = 0;
            let n = match self.src.read(&mut self.input) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if n == 0 {
                self.done = true;
                if self.state == QuoteState::QuoteInQuoted {
                    self.output.push(b'"');
                }
                break;
            }
            for i in 0..n {
                let b = self.input[i];
                self.push(b);
            }
        }
        let n = buf.len().min(self.output.len() - self.at);
        buf[..n].copy_from_slice(&self.output[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// Text in another encoding, read as UTF-8.
struct Transcode<R> {
    src: R,
    decoder: encoding_rs::Decoder,
    input: Vec<u8>,
    start: usize,
    end: usize,
    output: Vec<u8>,
    out_start: usize,
    out_end: usize,
    eof: bool,
    done: bool,
}

impl<R: Read> Transcode<R> {
    fn new(src: R, encoding: &'static Encoding) -> Transcode<R> {
        Transcode {
            src,
            decoder: encoding.new_decoder_with_bom_removal(),
            input: vec![0; 64 * 1024],
            start: 0,
            end: 0,
            output: vec![0; 3 * 64 * 1024 + 16],
            out_start: 0,
            out_end: 0,
            eof: false,
            done: false,
        }
    }
}

impl<R: Read> Read for Transcode<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.out_start == self.out_end && !self.done {
            if self.start == self.end && !self.eof {
                self.start = 0;
                self.end = match self.src.read(&mut self.input) {
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                };
                self.eof = self.end == 0;
            }
            let (result, read, written, _) = self.decoder.decode_to_utf8(
                &self.input[self.start..self.end],
                &mut self.output,
                self.eof,
            );
            self.start += read;
            self.out_start = 0;
            self.out_end = written;
            if self.eof && result == encoding_rs::CoderResult::InputEmpty {
                self.done = true;
            }
        }
        let n = buf.len().min(self.out_end - self.out_start);
        buf[..n].copy_from_slice(&self.output[self.out_start..self.out_start + n]);
        self.out_start += n;
        Ok(n)
    }
}

/// An xz stream, decompressed as it is read (lzma-rs decompresses into a writer: a thread
/// feeds a chunk pipe).
fn xz_reader(src: Box<dyn Read + Send>) -> crate::chunks::ChunkRead {
    let (reader, mut sink) = crate::chunks::pipe(4, 64 * 1024);
    std::thread::spawn(move || {
        let result = lzma_rs::xz_decompress(&mut io::BufReader::new(src), &mut sink)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("xz: {e}")));
        if let Err(e) = result {
            sink.fail(e);
        }
    });
    reader
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Parquet file of two INT32 columns, written with the parquet crate.
    fn parquet_bytes() -> Vec<u8> {
        use parquet::basic::{Repetition, Type};
        use parquet::data_type::Int32Type;
        use parquet::file::writer::SerializedFileWriter;
        use parquet::schema::types;
        let column = |name: &str| {
            Arc::new(
                types::Type::primitive_type_builder(name, Type::INT32)
                    .with_repetition(Repetition::REQUIRED)
                    .build()
                    .expect("column"),
            )
        };
        let schema = Arc::new(
            types::Type::group_type_builder("schema")
                .with_fields(vec![column("a"), column("b")])
                .build()
                .expect("schema"),
        );
        let mut out = Vec::new();
        let mut writer =
            SerializedFileWriter::new(&mut out, schema, Default::default()).expect("writer");
        let mut group = writer.next_row_group().expect("group");
        for values in [[1, 2, 3], [40, 50, 60]] {
            let mut col = group.next_column().expect("column").expect("a column");
            col.typed::<Int32Type>().write_batch(&values, None, None).expect("write");
            col.close().expect("close");
        }
        group.close().expect("close");
        writer.close().expect("close");
        out
    }

    /// A Parquet footer naming a range past the end of the file is refused before anything
    /// is allocated for it.
    #[test]
    fn a_range_past_the_end_is_refused() {
        use parquet::file::reader::ChunkReader;
        let bytes = Arc::new(vec![7u8; 100]);
        let open: Arc<dyn Fn() -> io::Result<Cursor<Vec<u8>>> + Send + Sync> =
            Arc::new(move || Ok(Cursor::new(bytes.to_vec())));
        let source = Reopened { open, len: 100 };
        assert_eq!(source.get_bytes(90, 10).expect("in range").len(), 10);
        assert!(source.get_bytes(90, 11).is_err());
        assert!(source.get_bytes(u64::MAX, 1 << 40).is_err());
    }

    /// A source opened again for each read (an encrypted scratch file, in the vault) reads
    /// as the same bytes in a file do: Parquet where it lies, anything else as text.
    #[test]
    fn a_reopenable_source_reads_like_a_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        for (name, bytes) in
            [("t.parquet", parquet_bytes()), ("t.csv", b"a,b\n1,40\n2,50\n3,60\n".to_vec())]
        {
            let path = dir.path().join(name);
            std::fs::write(&path, &bytes).expect("write");
            let mut from_file = String::new();
            open_path(&path, None).expect("open").0.read_to_string(&mut from_file).expect("read");
            let opens = Arc::new(std::sync::atomic::AtomicUsize::new(0));
            let counted = Arc::clone(&opens);
            let shared = Arc::new(bytes);
            let open = Arc::new(move || {
                counted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                Ok(Cursor::new(Arc::clone(&shared).to_vec()))
            });
            let mut reopened = String::new();
            open_reopenable(Path::new(name), open, None)
                .expect("open")
                .0
                .read_to_string(&mut reopened)
                .expect("read");
            assert_eq!(reopened, from_file, "{name}");
            assert!(reopened.starts_with("a,b") && reopened.contains("3,60"), "{reopened}");
            if name.ends_with("parquet") {
                assert!(opens.load(std::sync::atomic::Ordering::Relaxed) > 1, "read in ranges");
            }
        }
    }

    fn read_all(
        bytes: Vec<u8>,
        enc: Option<&'static Encoding>,
    ) -> Result<(String, Sniffed), DataError> {
        let (mut r, s) = open_reader(Box::new(Cursor::new(bytes)), enc)?;
        let mut text = String::new();
        r.read_to_string(&mut text).expect("utf-8 text");
        Ok((text, s))
    }

    const TABLE: &str = "name;height;city\nZoë;1,75;Köln\nJosé;1,62;Málaga\n";

    #[test]
    fn delimiter_decimal_comma_and_index_are_sniffed() {
        let (text, s) = read_all(TABLE.as_bytes().to_vec(), None).expect("read");
        assert_eq!(text, TABLE);
        assert_eq!((s.delimiter, s.decimal_comma, s.encoding), (Some(b';'), true, "UTF-8"));
        let (_, s) =
            read_all(b",a,b\n0,x,1.5\n1,y,2.5\n2,\"z,w\",3\n".to_vec(), None).expect("read");
        assert_eq!((s.delimiter, s.decimal_comma, s.index_column), (Some(b','), false, true));
        let (text, s) = read_all(b"\"\",\"a\"\n\"1\",2\n\"2\",3\n".to_vec(), None).expect("read");
        assert!(s.index_column, "R's row names");
        assert_eq!(text, "row_name,\"a\"\n\"1\",2\n\"2\",3\n", "named, the rows as they were");
        let (text, s) = read_all(b",row_name,b\n0,x,1\n1,y,2\n".to_vec(), None).expect("read");
        assert_eq!(
            (text.lines().next(), s.index_name.as_deref()),
            (Some("row_name_,row_name,b"), Some("row_name_"))
        );
        let (_, s) = read_all(b"a\tb\n1\t2\n".to_vec(), None).expect("read");
        assert_eq!(s.delimiter, Some(b'\t'));
    }

    #[test]
    fn latin1_utf16_and_compressed_files_read_as_utf8() {
        let (latin1, _, _) = WINDOWS_1252.encode(TABLE);
        let (text, s) = read_all(latin1.into_owned(), None).expect("latin1");
        assert_eq!(text, TABLE);
        assert!(s.encoding_guessed);
        assert_eq!(s.encoding, "windows-1252");
        let mut utf16 = vec![0xff, 0xfe];
        utf16.extend(TABLE.encode_utf16().flat_map(u16::to_le_bytes));
        let (text, s) = read_all(utf16, None).expect("utf16");
        assert_eq!((text.as_str(), s.encoding), (TABLE, "UTF-16LE"));
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        io::Write::write_all(&mut gz, TABLE.as_bytes()).expect("gzip");
        let (text, s) = read_all(gz.finish().expect("gzip"), None).expect("gz");
        assert_eq!((text.as_str(), s.compression), (TABLE, Some("gzip")));
        let mut xz = Vec::new();
        lzma_rs::xz_compress(&mut io::BufReader::new(TABLE.as_bytes()), &mut xz).expect("xz");
        let (text, s) = read_all(xz, None).expect("xz");
        assert_eq!((text.as_str(), s.compression), (TABLE, Some("xz")));
        let mut bz = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
        io::Write::write_all(&mut bz, TABLE.as_bytes()).expect("bzip2");
        let (text, s) = read_all(bz.finish().expect("bzip2"), None).expect("bz2");
        assert_eq!((text.as_str(), s.compression), (TABLE, Some("bzip2")));
        // A forced encoding wins over the guess.
        let (text, _) = read_all(
            "café".as_bytes().to_vec(),
            Some(encoding_for_label("latin1").expect("label")),
        )
        .expect("forced");
        assert_eq!(text, "cafÃ©");
        assert!(encoding_for_label("klingon").is_err());
    }

    #[test]
    fn binary_files_are_refused_with_what_they_are() {
        for (bytes, what) in [
            (&b"PK\x03\x04\x14\x00"[..], "not a workbook"),
            (&b"\x80\x04\x95\x10"[..], "pickle"),
            (&b"\x93NUMPY\x01\x00"[..], "NumPy"),
            (&b"a,b\n1,\x002\n"[..], "NUL"),
        ] {
            let e = read_all(bytes.to_vec(), None).expect_err(what).to_string();
            assert!(e.contains("not a CSV file") && e.contains(what), "{e}");
        }
    }

    #[test]
    fn single_quoted_files_read_as_double_quoted_ones() {
        let file = b"'name';'note';'n'\n'O''Brien';'say \"hi\", then;';3\n'x';;4\n";
        // (`;`-separated, with the delimiter and both quotes inside quoted cells.)
        let (text, s) = read_all(file.to_vec(), None).expect("read");
        assert_eq!((s.quote, s.delimiter), (b'\'', Some(b';')));
        assert_eq!(
            text,
            "\"name\";\"note\";\"n\"\n\"O'Brien\";\"say \"\"hi\"\", then;\";3\n\"x\";;4\n"
        );
        // Apostrophes inside words are no quotes.
        let (text, s) = read_all(b"name,n\nO'Brien,1\nD'Arcy,2\n".to_vec(), None).expect("read");
        assert_eq!((s.quote, text.as_str()), (b'"', "name,n\nO'Brien,1\nD'Arcy,2\n"));
    }

    #[test]
    fn a_broken_parquet_file_is_an_error_saying_so() {
        let e = read_all(b"PAR1\x15\x04 and then nothing".to_vec(), None).expect_err("broken");
        assert!(e.to_string().contains("this Parquet file cannot be read"), "{e}");
    }
}
