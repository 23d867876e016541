//! A strict, streaming RFC 4180 CSV tokenizer.
//!
//! Unlike lenient readers it reports what is wrong with the file itself: a quote inside an
//! unquoted field, text after a closing quote, a quoted field that never ends, a field or
//! record over the size limit, blank lines, mixed line endings. Records are appended to a
//! [`Batch`] (one flat byte buffer plus offsets), so reading allocates nothing per record
//! and memory is bounded by the batch size and the limits below, whatever the file size.

use std::io::{self, Read};

/// Default limit on one field, in bytes.
pub const DEFAULT_MAX_FIELD_BYTES: usize = 1 << 20;
/// Limit on one record (all its fields), in bytes.
pub const MAX_RECORD_BYTES: usize = 64 << 20;
/// Most fields one record may have; more are counted but not kept.
pub const MAX_FIELDS_PER_RECORD: usize = 100_000;
/// Size of one read from the source.
const READ_CHUNK: usize = 256 << 10;
/// Size of the first read (see [`CsvReader::fill`]).
const FIRST_READ: usize = 4 << 10;

/// Something wrong with the CSV syntax of one record (or of the file).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CsvIssueKind {
    /// A `"` inside a field that does not start with one.
    QuoteInUnquoted,
    /// Text between a closing quote and the next delimiter.
    TextAfterQuote,
    /// A quoted field still open at the end of the file.
    UnterminatedQuote,
    /// A field longer than the limit (the rest of it is dropped).
    FieldTooLarge,
    /// A record longer than [`MAX_RECORD_BYTES`] or with more than
    /// [`MAX_FIELDS_PER_RECORD`] fields (the rest is dropped).
    RecordTooLarge,
    /// An empty line (skipped).
    BlankLine,
}

/// A CSV issue and where it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CsvIssue {
    pub(crate) kind: CsvIssueKind,
    /// 1-based physical line of the record.
    pub(crate) line: u64,
    /// Byte offset of the record in the file.
    pub(crate) offset: u64,
    /// Index of the record in its batch (`u32::MAX` for a skipped blank line).
    pub(crate) record: u32,
    /// 0-based field index within the record.
    pub(crate) field: u32,
}

/// Where one record lives in a batch.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RecordMeta {
    /// Index of its first field in [`Batch::spans`].
    pub(crate) first: u32,
    /// Number of fields kept.
    pub(crate) len: u32,
    /// Number of fields in the file (may exceed `len` past the field limit).
    pub(crate) fields_in_file: u64,
    /// 1-based physical line where the record starts.
    pub(crate) line: u64,
    /// Byte offset where the record starts.
    pub(crate) offset: u64,
}

/// Records read in one go: one flat buffer of field bytes plus offsets.
#[derive(Debug, Default)]
pub(crate) struct Batch {
    pub(crate) data: Vec<u8>,
    /// Start and end (exclusive) of each field in `data`. Fields of a record are in order
    /// and do not overlap, but may have gaps (a delimiter copied with a whole line).
    pub(crate) spans: Vec<(u32, u32)>,
    pub(crate) records: Vec<RecordMeta>,
    pub(crate) issues: Vec<CsvIssue>,
    /// 1-based data row number of the first record (the header is row 0).
    pub(crate) first_row: u64,
    /// Sequence number, so results can be put back in file order.
    pub(crate) seq: u64,
}

impl Batch {
    pub(crate) fn clear(&mut self) {
        self.data.clear();
        self.spans.clear();
        self.records.clear();
        self.issues.clear();
    }

    /// The bytes from the first to the last field of record `i`, and where they start
    /// in `data`.
    pub(crate) fn record_bytes(&self, i: usize) -> (&[u8], usize) {
        let spans = self.spans(i);
        let start = spans.first().map_or(0, |s| s.0 as usize);
        let end = spans.last().map_or(start, |s| s.1 as usize);
        (&self.data[start..end], start)
    }

    /// The spans of the fields of record `i`.
    pub(crate) fn spans(&self, i: usize) -> &[(u32, u32)] {
        let meta = self.records[i];
        &self.spans[meta.first as usize..(meta.first + meta.len) as usize]
    }

    /// The fields of record `i`.
    pub(crate) fn record(&self, i: usize) -> impl Iterator<Item = &[u8]> + '_ {
        self.spans(i).iter().map(|&(a, b)| &self.data[a as usize..b as usize])
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// At the start of a record (nothing consumed).
    RecordStart,
    /// At the start of a field after a delimiter.
    FieldStart,
    Unquoted,
    Quoted,
    /// Just read a `"` inside a quoted field: either an escaped quote or the end.
    QuoteInQuoted,
    /// Just ended a record on `\r`: swallow a following `\n`.
    AfterCr,
}

/// Counts of line endings seen, to report a file that mixes them.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LineEndings {
    pub(crate) lf: u64,
    pub(crate) crlf: u64,
    pub(crate) cr: u64,
}

/// What the first bytes of the file say about its encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encoding {
    /// No byte order mark.
    Plain,
    /// A UTF-8 byte order mark (skipped).
    Utf8Bom,
    /// A UTF-16 byte order mark: this reader cannot read the file.
    Utf16,
}

/// Byte classes of the unquoted-field scan.
const PLAIN: u8 = 0;
const STOP: u8 = 1;
const QUOTE: u8 = 2;

/// The streaming tokenizer.
pub(crate) struct CsvReader<R> {
    src: R,
    /// Class of each byte in an unquoted field: plain, a stop (delimiter, CR, LF) or a quote.
    class: [u8; 256],
    /// The current unquoted field already has a stray-quote issue.
    quote_flagged: bool,
    /// Length of the batch data up to which the current field may grow without a limit
    /// check (0 once a limit was hit).
    write_limit: usize,
    buf: Vec<u8>,
    pos: usize,
    len: usize,
    eof: bool,
    /// File offset of `buf[0]`.
    buf_offset: u64,
    delimiter: u8,
    max_field: usize,
    state: State,
    line: u64,
    endings: LineEndings,
    encoding: Option<Encoding>,
    // The record being built.
    rec_line: u64,
    rec_offset: u64,
    rec_start_data: usize,
    rec_fields: u64,
    rec_quoted: bool,
    field_start: usize,
    field_truncated: bool,
    rec_truncated: bool,
    rec_first_end: u32,
    bytes_read: u64,
}

impl<R: Read> CsvReader<R> {
    pub(crate) fn new(src: R, delimiter: u8, max_field: usize) -> Self {
        let mut class = [PLAIN; 256];
        class[usize::from(delimiter)] = STOP;
        class[usize::from(b'\n')] = STOP;
        class[usize::from(b'\r')] = STOP;
        class[usize::from(b'"')] = QUOTE;
        CsvReader {
            src,
            class,
            quote_flagged: false,
            write_limit: 0,
            buf: Vec::new(),
            pos: 0,
            len: 0,
            eof: false,
            buf_offset: 0,
            delimiter,
            max_field,
            state: State::RecordStart,
            line: 1,
            endings: LineEndings::default(),
            encoding: None,
            rec_line: 1,
            rec_offset: 0,
            rec_start_data: 0,
            rec_fields: 0,
            rec_quoted: false,
            field_start: 0,
            field_truncated: false,
            rec_truncated: false,
            rec_first_end: 0,
            bytes_read: 0,
        }
    }

    pub(crate) fn line_endings(&self) -> LineEndings {
        self.endings
    }

    pub(crate) fn bytes_read(&self) -> u64 {
        self.bytes_read
    }

    /// Reads the byte order mark, if any. Call before the first batch.
    pub(crate) fn encoding(&mut self) -> io::Result<Encoding> {
        if let Some(e) = self.encoding {
            return Ok(e);
        }
        while self.len < 3 && !self.eof {
            self.fill()?;
        }
        let head = &self.buf[..self.len];
        let e = if head.starts_with(&[0xEF, 0xBB, 0xBF]) {
            self.pos = 3;
            Encoding::Utf8Bom
        } else if head.starts_with(&[0xFF, 0xFE]) || head.starts_with(&[0xFE, 0xFF]) {
            Encoding::Utf16
        } else {
            Encoding::Plain
        };
        self.rec_offset = self.pos as u64;
        self.encoding = Some(e);
        Ok(e)
    }

    /// Appends more source bytes to the buffer (moving the unread tail to the front).
    fn fill(&mut self) -> io::Result<()> {
        if self.pos > 0 {
            self.buf.copy_within(self.pos..self.len, 0);
            self.buf_offset += self.pos as u64;
            self.len -= self.pos;
            self.pos = 0;
        }
        // The buffer starts small and doubles up to READ_CHUNK (then grows by READ_CHUNK
        // only for a record longer than it): a one-row request does not zero 256 KiB.
        if self.buf.len() < READ_CHUNK || self.len == self.buf.len() {
            let more = self.buf.len().clamp(FIRST_READ, READ_CHUNK);
            self.buf.resize(self.buf.len() + more, 0);
        }
        loop {
            match self.src.read(&mut self.buf[self.len..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(());
                }
                Ok(n) => {
                    self.len += n;
                    self.bytes_read += n as u64;
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Reads records into `batch` until it holds `max_records` records or `max_bytes` of
    /// data, or the input ends. Returns false once the input is exhausted.
    pub(crate) fn read_batch(
        &mut self,
        batch: &mut Batch,
        max_records: usize,
        max_bytes: usize,
    ) -> io::Result<bool> {
        if self.encoding.is_none() {
            self.encoding()?;
        }
        loop {
            if batch.records.len() >= max_records
                || (batch.data.len() >= max_bytes && self.state == State::RecordStart)
            {
                return Ok(true);
            }
            if self.pos >= self.len {
                if self.eof {
                    self.finish(batch);
                    return Ok(false);
                }
                self.fill()?;
                continue;
            }
            self.step(batch);
        }
    }

    fn file_pos(&self) -> u64 {
        self.buf_offset + self.pos as u64
    }

    /// Consumes bytes from the buffer until it is empty or a record ends.
    fn step(&mut self, batch: &mut Batch) {
        let d = self.delimiter;
        while self.pos < self.len {
            match self.state {
                State::RecordStart | State::AfterCr => {
                    if self.state == State::AfterCr {
                        self.state = State::RecordStart;
                        if self.buf[self.pos] == b'\n' {
                            self.pos += 1;
                            self.endings.crlf += 1;
                            self.endings.cr -= 1;
                            continue;
                        }
                    }
                    if self.fast_record(batch) {
                        return;
                    }
                    self.begin_record(batch);
                    self.state = State::FieldStart;
                }
                State::FieldStart => {
                    self.start_field(batch);
                    if self.buf[self.pos] == b'"' {
                        self.pos += 1;
                        self.rec_quoted = true;
                        self.state = State::Quoted;
                    } else {
                        self.state = State::Unquoted;
                    }
                }
                State::Unquoted => {
                    // Unquoted fields follow one another without going back through the
                    // state dispatch (whose indirect jump costs more than a short field).
                    loop {
                        // Fields are short: a table-driven scalar scan beats a SIMD search
                        // whose set-up costs more than the field.
                        let start = self.pos;
                        let hay = &self.buf[start..self.len];
                        let class = &self.class;
                        let mut i = 0;
                        let mut stray_quote = false;
                        loop {
                            i += hay[i..]
                                .iter()
                                .position(|&b| class[usize::from(b)] != PLAIN)
                                .unwrap_or(hay.len() - i);
                            if i < hay.len() && hay[i] == b'"' {
                                stray_quote = true;
                                i += 1;
                                continue;
                            }
                            break;
                        }
                        let i = start + i;
                        if stray_quote && !self.quote_flagged {
                            self.quote_flagged = true;
                            self.issue(batch, CsvIssueKind::QuoteInUnquoted);
                        }
                        self.push_bytes(batch, start, i);
                        self.pos = i;
                        if i >= self.len {
                            return; // more input needed; still in the field
                        }
                        let b = self.buf[i];
                        self.pos += 1;
                        if b != d {
                            self.end_line(b);
                            self.end_record(batch);
                            return;
                        }
                        self.end_field(batch);
                        match self.buf.get(self.pos).filter(|_| self.pos < self.len) {
                            Some(b'"') | None => {
                                self.state = State::FieldStart;
                                break;
                            }
                            Some(_) => self.start_field(batch),
                        }
                    }
                }
                State::Quoted => {
                    let hay = &self.buf[self.pos..self.len];
                    let n = memchr::memchr(b'"', hay).unwrap_or(hay.len());
                    self.line += memchr::memchr_iter(b'\n', &hay[..n]).count() as u64;
                    self.push_bytes(batch, self.pos, self.pos + n);
                    self.pos += n;
                    if self.pos < self.len {
                        self.pos += 1;
                        self.state = State::QuoteInQuoted;
                    }
                }
                State::QuoteInQuoted => {
                    let b = self.buf[self.pos];
                    self.pos += 1;
                    if b == b'"' {
                        self.push_bytes(batch, self.pos - 1, self.pos);
                        self.state = State::Quoted;
                    } else if b == d {
                        self.end_field(batch);
                        self.state = State::FieldStart;
                    } else if b == b'\n' || b == b'\r' {
                        self.end_line(b);
                        self.end_record(batch);
                        return;
                    } else {
                        // `"abc"def`: keep the text, as lenient readers do, but say so.
                        self.issue(batch, CsvIssueKind::TextAfterQuote);
                        self.push_bytes(batch, self.pos - 1, self.pos);
                        self.state = State::Unquoted;
                    }
                }
            }
        }
    }

    /// Resets the per-field state at the start of a field.
    #[inline]
    fn start_field(&mut self, batch: &Batch) {
        self.field_start = batch.data.len();
        self.field_truncated = false;
        self.quote_flagged = false;
        self.write_limit =
            if self.rec_truncated || self.rec_fields as usize >= MAX_FIELDS_PER_RECORD {
                0
            } else {
                (self.field_start + self.max_field).min(self.rec_start_data + MAX_RECORD_BYTES)
            };
    }

    fn end_line(&mut self, b: u8) {
        self.line += 1;
        if b == b'\n' {
            self.endings.lf += 1;
        } else {
            self.endings.cr += 1;
            self.state = State::AfterCr;
        }
    }

    /// Reads a whole record at once when it is a complete line with no quote and no stray
    /// CR (almost every line of a data file): one search for the line end, one copy, one
    /// pass over the delimiters. Returns false, consuming nothing, when the record needs the
    /// state machine (quotes, limits, blank lines, a line not yet in the buffer).
    #[inline]
    fn fast_record(&mut self, batch: &mut Batch) -> bool {
        let hay = &self.buf[self.pos..self.len];
        let Some(nl) = memchr::memchr(b'\n', hay) else { return false };
        let mut line = &hay[..nl];
        let crlf = line.last() == Some(&b'\r');
        if crlf {
            line = &line[..nl - 1];
        }
        if line.is_empty()
            || line.len() > self.max_field
            || memchr::memchr2(b'"', b'\r', line).is_some()
        {
            return false;
        }
        let base = batch.data.len();
        let first = batch.spans.len();
        let mut start = base;
        for p in memchr::memchr_iter(self.delimiter, line) {
            batch.spans.push((start as u32, (base + p) as u32));
            start = base + p + 1;
        }
        batch.spans.push((start as u32, (base + line.len()) as u32));
        let fields = batch.spans.len() - first;
        if fields > MAX_FIELDS_PER_RECORD {
            batch.spans.truncate(first);
            return false;
        }
        batch.data.extend_from_slice(line);
        batch.records.push(RecordMeta {
            first: first as u32,
            len: fields as u32,
            fields_in_file: fields as u64,
            line: self.line,
            offset: self.file_pos(),
        });
        self.line += 1;
        if crlf {
            self.endings.crlf += 1;
        } else {
            self.endings.lf += 1;
        }
        self.pos += nl + 1;
        true
    }

    fn begin_record(&mut self, batch: &mut Batch) {
        self.rec_line = self.line;
        self.rec_offset = self.file_pos();
        self.rec_start_data = batch.data.len();
        self.rec_fields = 0;
        self.rec_quoted = false;
        self.rec_truncated = false;
        self.rec_first_end = batch.spans.len() as u32;
    }

    #[inline]
    fn push_bytes(&mut self, batch: &mut Batch, from: usize, to: usize) {
        // Fast path: the bytes fit under the field and record limits.
        if batch.data.len() + (to - from) <= self.write_limit {
            batch.data.extend_from_slice(&self.buf[from..to]);
            return;
        }
        self.push_bytes_limited(batch, from, to);
    }

    #[cold]
    fn push_bytes_limited(&mut self, batch: &mut Batch, from: usize, to: usize) {
        if self.field_truncated
            || self.rec_truncated
            || from >= to
            || self.rec_fields as usize >= MAX_FIELDS_PER_RECORD
        {
            return;
        }
        let field_len = batch.data.len() - self.field_start;
        let rec_len = batch.data.len() - self.rec_start_data;
        let room_field = self.max_field.saturating_sub(field_len);
        let room_rec = MAX_RECORD_BYTES.saturating_sub(rec_len);
        let n = to - from;
        if n > room_field {
            batch.data.extend_from_slice(&self.buf[from..from + room_field]);
            self.field_truncated = true;
            self.write_limit = 0;
            self.issue(batch, CsvIssueKind::FieldTooLarge);
        } else if n > room_rec {
            batch.data.extend_from_slice(&self.buf[from..from + room_rec]);
            self.rec_truncated = true;
            self.write_limit = 0;
            self.issue(batch, CsvIssueKind::RecordTooLarge);
        } else {
            batch.data.extend_from_slice(&self.buf[from..to]);
        }
    }

    fn end_field(&mut self, batch: &mut Batch) {
        self.rec_fields += 1;
        if self.rec_fields as usize <= MAX_FIELDS_PER_RECORD {
            batch.spans.push((self.field_start as u32, batch.data.len() as u32));
        } else if self.rec_fields as usize == MAX_FIELDS_PER_RECORD + 1 {
            self.issue(batch, CsvIssueKind::RecordTooLarge);
        }
    }

    fn end_record(&mut self, batch: &mut Batch) {
        self.end_field(batch);
        let blank =
            self.rec_fields == 1 && !self.rec_quoted && batch.data.len() == self.rec_start_data;
        if blank {
            batch.spans.pop();
            batch.issues.push(CsvIssue {
                kind: CsvIssueKind::BlankLine,
                line: self.rec_line,
                offset: self.rec_offset,
                record: u32::MAX,
                field: 0,
            });
        } else {
            batch.records.push(RecordMeta {
                first: self.rec_first_end,
                len: (batch.spans.len() as u32) - self.rec_first_end,
                fields_in_file: self.rec_fields,
                line: self.rec_line,
                offset: self.rec_offset,
            });
        }
        if self.state != State::AfterCr {
            self.state = State::RecordStart;
        }
    }

    /// Ends the last record at end of input.
    fn finish(&mut self, batch: &mut Batch) {
        match self.state {
            State::RecordStart | State::AfterCr => {}
            State::Quoted => {
                self.issue(batch, CsvIssueKind::UnterminatedQuote);
                self.end_record(batch);
            }
            State::FieldStart => {
                self.start_field(batch);
                self.end_record(batch);
            }
            State::Unquoted | State::QuoteInQuoted => self.end_record(batch),
        }
        self.state = State::RecordStart;
    }

    fn issue(&mut self, batch: &mut Batch, kind: CsvIssueKind) {
        batch.issues.push(CsvIssue {
            kind,
            line: self.rec_line,
            offset: self.rec_offset,
            record: batch.records.len() as u32,
            field: self.rec_fields.min(u64::from(u32::MAX)) as u32,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records with their line numbers, the issues and the line endings of an input.
    type ReadAll = (Vec<(u64, Vec<String>)>, Vec<CsvIssue>, LineEndings);

    fn read_all(input: &[u8]) -> ReadAll {
        read_with(input, DEFAULT_MAX_FIELD_BYTES, 3)
    }

    fn read_with(input: &[u8], max_field: usize, per_batch: usize) -> ReadAll {
        let mut r = CsvReader::new(input, b',', max_field);
        let mut out = Vec::new();
        let mut issues = Vec::new();
        loop {
            let mut b = Batch::default();
            let more = r.read_batch(&mut b, per_batch, 1 << 20).expect("read");
            for i in 0..b.records.len() {
                let fields = b.record(i).map(|f| String::from_utf8_lossy(f).into_owned()).collect();
                out.push((b.records[i].line, fields));
            }
            issues.extend(b.issues);
            if !more {
                break;
            }
        }
        (out, issues, r.line_endings())
    }

    fn rows(input: &str) -> Vec<Vec<String>> {
        read_all(input.as_bytes()).0.into_iter().map(|(_, f)| f).collect()
    }

    #[test]
    fn plain_records() {
        assert_eq!(rows("a,b\n1,2\n"), vec![vec!["a", "b"], vec!["1", "2"]]);
        assert_eq!(rows("a,b\n1,2"), vec![vec!["a", "b"], vec!["1", "2"]]);
        assert_eq!(rows("a,b\r\n1,2\r\n"), vec![vec!["a", "b"], vec!["1", "2"]]);
        assert_eq!(rows("a,\n,"), vec![vec!["a", ""], vec!["", ""]]);
        assert_eq!(rows(""), Vec::<Vec<String>>::new());
    }

    #[test]
    fn quoted_fields() {
        let (r, issues, _) =
            read_all(b"a,b\n\"x,y\",\"he said \"\"hi\"\"\"\n\"multi\nline\",z\nlast,1\n");
        assert!(issues.is_empty(), "{issues:?}");
        assert_eq!(r[1].1, vec!["x,y", "he said \"hi\""]);
        assert_eq!(r[2].1, vec!["multi\nline", "z"]);
        assert_eq!(r[2].0, 3);
        assert_eq!(r[3].0, 5, "line numbers count newlines inside quotes");
        assert_eq!(rows("\"\"\n"), vec![vec![""]], "a quoted empty field is not a blank line");
    }

    #[test]
    fn bad_quoting_is_reported() {
        let (r, issues, _) = read_all(b"a,b\n5\" screen,1\n\"abc\"def,2\n");
        assert_eq!(r[1].1, vec!["5\" screen", "1"]);
        assert_eq!(r[2].1, vec!["abcdef", "2"]);
        assert_eq!(issues.len(), 2);
        assert_eq!(
            (issues[0].kind, issues[0].line, issues[0].field),
            (CsvIssueKind::QuoteInUnquoted, 2, 0)
        );
        assert_eq!((issues[1].kind, issues[1].line), (CsvIssueKind::TextAfterQuote, 3));
    }

    #[test]
    fn unterminated_quote_at_eof() {
        let (r, issues, _) = read_all(b"a,b\n1,\"open\n2,3\n");
        assert_eq!(r.len(), 2);
        assert_eq!(issues[0].kind, CsvIssueKind::UnterminatedQuote);
        assert_eq!(issues[0].line, 2);
    }

    #[test]
    fn blank_lines_and_endings() {
        let (r, issues, endings) = read_all(b"a\r\n\r\n1\n2\r3\n");
        assert_eq!(r.len(), 4);
        assert_eq!(issues[0].kind, CsvIssueKind::BlankLine);
        assert_eq!(issues[0].line, 2);
        assert_eq!(endings, LineEndings { lf: 2, crlf: 2, cr: 1 });
        assert_eq!(r[3].0, 5);
    }

    #[test]
    fn oversize_field_is_truncated_and_reported() {
        let big = format!("a,b\n{},1\nx,2\n", "z".repeat(100));
        let (r, issues, _) = read_with(big.as_bytes(), 10, 2);
        assert_eq!(r[1].1, vec!["z".repeat(10), "1".to_owned()]);
        assert_eq!(r[2].1, vec!["x", "2"]);
        assert_eq!(issues[0].kind, CsvIssueKind::FieldTooLarge);
    }

    #[test]
    fn bom_detection() {
        let mut r = CsvReader::new(&b"\xEF\xBB\xBFa,b\n"[..], b',', 100);
        assert_eq!(r.encoding().expect("read"), Encoding::Utf8Bom);
        let mut b = Batch::default();
        r.read_batch(&mut b, 10, 100).expect("read");
        assert_eq!(b.record(0).next(), Some(&b"a"[..]));
        assert_eq!(b.records[0].offset, 3);
        let mut r = CsvReader::new(&b"\xFF\xFEa\0"[..], b',', 100);
        assert_eq!(r.encoding().expect("read"), Encoding::Utf16);
    }

    /// A reader that returns one byte per call, to exercise every buffer boundary.
    struct Trickle<'a>(&'a [u8]);
    impl Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            match (self.0.split_first(), out.first_mut()) {
                (Some((b, rest)), Some(o)) => {
                    *o = *b;
                    self.0 = rest;
                    Ok(1)
                }
                _ => Ok(0),
            }
        }
    }

    #[test]
    fn byte_at_a_time_reads_the_same() {
        let input = b"a,b\r\n\"x\"\"y\",\"1\r\n2\"\r\n\r\nq,\"\"\n";
        let (expect, expect_issues, _) = read_all(input);
        let mut r = CsvReader::new(Trickle(input), b',', 1000);
        let mut got = Vec::new();
        let mut issues = Vec::new();
        loop {
            let mut b = Batch::default();
            let more = r.read_batch(&mut b, 2, 1000).expect("read");
            for i in 0..b.records.len() {
                got.push((
                    b.records[i].line,
                    b.record(i)
                        .map(|f| String::from_utf8_lossy(f).into_owned())
                        .collect::<Vec<_>>(),
                ));
            }
            issues.extend(b.issues);
            if !more {
                break;
            }
        }
        assert_eq!(got, expect);
        assert_eq!(issues.len(), expect_issues.len());
    }
}

#[cfg(test)]
mod roundtrip {
    use proptest::prelude::*;

    use super::*;

    /// Writes records as RFC 4180 CSV, quoting every field that needs it.
    fn write(records: &[Vec<String>]) -> Vec<u8> {
        let mut out = Vec::new();
        for r in records {
            let fields: Vec<String> = r
                .iter()
                .map(|f| {
                    if f.is_empty() || f.contains([',', '"', '\n', '\r']) {
                        format!("\"{}\"", f.replace('"', "\"\""))
                    } else {
                        f.clone()
                    }
                })
                .collect();
            out.extend_from_slice(fields.join(",").as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        out
    }

    proptest! {
        #[test]
        fn what_is_written_is_read_back(records in prop::collection::vec(prop::collection::vec("[a-z,\"\r\n é]{0,8}", 1..5), 0..20), per_batch in 1usize..7) {
            let bytes = write(&records);
            let mut r = CsvReader::new(&bytes[..], b',', DEFAULT_MAX_FIELD_BYTES);
            let mut got = Vec::new();
            let mut issues = Vec::new();
            loop {
                let mut b = Batch::default();
                let more = r.read_batch(&mut b, per_batch, 64).expect("read");
                for i in 0..b.records.len() {
                    got.push(b.record(i).map(|f| String::from_utf8(f.to_vec()).expect("utf8")).collect::<Vec<_>>());
                }
                issues.extend(b.issues);
                if !more {
                    break;
                }
            }
            prop_assert!(issues.is_empty(), "{:?}", issues);
            prop_assert_eq!(got, records);
        }
    }
}

/// The error for a batch with a cell that is not UTF-8, naming its line.
fn bad_utf8(batch: &Batch) -> crate::DataError {
    let line = (0..batch.records.len())
        .find(|&i| batch.record(i).any(|raw| std::str::from_utf8(raw).is_err()))
        .map_or(0, |i| batch.records[i].line);
    crate::DataError::Input(format!("line {line}: a cell is not valid UTF-8"))
}

/// A CSV table read record by record with the same strict tokenizer as the validator.
/// Meant for files that were validated first (quoting problems are read the way the
/// validator reports them); a cell that is not UTF-8 is an error naming its line.
pub struct TableReader<R> {
    reader: CsvReader<R>,
    header: Vec<String>,
    more: bool,
}

impl<R: Read> TableReader<R> {
    /// Opens a table and reads its header.
    pub fn new(src: R, delimiter: u8) -> Result<TableReader<R>, crate::DataError> {
        crate::validate::check_delimiter(delimiter)?;
        let mut reader = CsvReader::new(src, delimiter, DEFAULT_MAX_FIELD_BYTES);
        reader.encoding()?;
        let mut batch = Batch::default();
        let more = reader.read_batch(&mut batch, 1, usize::MAX)?;
        if batch.records.is_empty() {
            return Err(crate::DataError::Input("the file is empty: no header".into()));
        }
        let line = batch.records[0].line;
        let header = batch
            .record(0)
            .map(|r| {
                std::str::from_utf8(r).map(str::to_owned).map_err(|_| {
                    crate::DataError::Input(format!("line {line}: the header is not valid UTF-8"))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(TableReader { reader, header, more })
    }

    /// The column names.
    pub fn header(&self) -> &[String] {
        &self.header
    }

    /// Calls `f(line, fields)` for every data record, in file order.
    pub fn for_each(
        mut self,
        mut f: impl FnMut(u64, &[&str]) -> Result<(), crate::DataError>,
    ) -> Result<(), crate::DataError> {
        let mut batch = Batch::default();
        while self.more {
            batch.clear();
            self.more = self.reader.read_batch(&mut batch, TABLE_BATCH, 1 << 20)?;
            visit(&batch, self.header.len(), &mut f)?;
        }
        Ok(())
    }
}

impl<R: Read + Send> TableReader<R> {
    /// [`TableReader::for_each`] with the reading and splitting of records on a thread of
    /// its own, two batches ahead: the caller's work and the parsing (decompression,
    /// decryption: whatever the source does) run on two cores.
    pub fn for_each_parallel(
        mut self,
        mut f: impl FnMut(u64, &[&str]) -> Result<(), crate::DataError>,
    ) -> Result<(), crate::DataError> {
        let width = self.header.len();
        let (full, batches) = std::sync::mpsc::sync_channel::<Result<Batch, crate::DataError>>(2);
        let (spare, spares) = std::sync::mpsc::channel::<Batch>();
        let (reader, mut more) = (&mut self.reader, self.more);
        std::thread::scope(|s| {
            s.spawn(move || {
                while more {
                    let mut batch = spares.try_recv().unwrap_or_default();
                    batch.clear();
                    let read = reader.read_batch(&mut batch, TABLE_BATCH, 1 << 20);
                    more = matches!(read, Ok(true));
                    // A closed channel: the caller stopped (an error of its own).
                    if full.send(read.map(|_| batch).map_err(crate::DataError::from)).is_err() {
                        return;
                    }
                }
            });
            // Dropped on return, so a reader blocked on a full channel stops.
            for batch in batches {
                let batch = batch?;
                visit(&batch, width, &mut f)?;
                let _ = spare.send(batch);
            }
            Ok(())
        })
    }

    /// [`TableReader::for_each_parallel`] for two readers of the same records: the table
    /// is read and split once, on a thread of its own, and every batch handed to both `f`
    /// (on the calling thread) and `g` (on a thread of its own), each two batches ahead at
    /// most. `g_end` runs on `g`'s thread after `g` has seen the last record (never after a
    /// partial read). An error from the reading, `f`, `g` or `g_end` stops all three and is
    /// returned (the reading's first).
    pub fn for_each_shared<G, E>(
        mut self,
        mut f: impl FnMut(u64, &[&str]) -> Result<(), crate::DataError>,
        mut g: G,
        g_end: E,
    ) -> Result<(), crate::DataError>
    where
        G: FnMut(u64, &[&str]) -> Result<(), crate::DataError> + Send,
        E: FnOnce() -> Result<(), crate::DataError> + Send,
    {
        use std::sync::Arc;
        let width = self.header.len();
        // `None` after the last batch: a channel closed without it is a stopped read.
        let (to_f, for_f) = std::sync::mpsc::sync_channel::<Option<Arc<Batch>>>(2);
        let (to_g, for_g) = std::sync::mpsc::sync_channel::<Option<Arc<Batch>>>(2);
        let (reader, mut more) = (&mut self.reader, self.more);
        let stopped = || crate::DataError::Input("the table's reading stopped".into());
        std::thread::scope(|s| {
            let reading = s.spawn(move || -> Result<(), crate::DataError> {
                while more {
                    let mut batch = Batch::default();
                    more = reader.read_batch(&mut batch, TABLE_BATCH, 1 << 20)?;
                    let batch = Arc::new(batch);
                    // A closed channel: a reader stopped (an error of its own).
                    if to_f.send(Some(batch.clone())).is_err() || to_g.send(Some(batch)).is_err() {
                        return Ok(());
                    }
                }
                let _ = (to_f.send(None), to_g.send(None));
                Ok(())
            });
            let other = s.spawn(move || -> Result<(), crate::DataError> {
                for batch in for_g {
                    match batch {
                        Some(batch) => visit(&batch, width, &mut g)?,
                        None => return g_end(),
                    }
                }
                Err(stopped())
            });
            let mine = (move || -> Result<(), crate::DataError> {
                for batch in for_f {
                    match batch {
                        Some(batch) => visit(&batch, width, &mut f)?,
                        None => return Ok(()),
                    }
                }
                Err(stopped())
            })();
            let joined = |h: std::thread::ScopedJoinHandle<'_, Result<(), crate::DataError>>| {
                h.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            };
            let (read, other) = (joined(reading), joined(other));
            read?;
            // A reader's own error before the "stopped" it caused in the other.
            match (mine, other) {
                (Ok(()), Ok(())) => Ok(()),
                (Err(e), Ok(())) | (Ok(()), Err(e)) => Err(e),
                (Err(a), Err(b)) => Err(if a.to_string() == stopped().to_string() { b } else { a }),
            }
        })
    }
}

/// Records per batch of a [`TableReader`].
const TABLE_BATCH: usize = 4096;

/// Calls `f(line, fields)` for every record of `batch`.
fn visit(
    batch: &Batch,
    width: usize,
    f: &mut impl FnMut(u64, &[&str]) -> Result<(), crate::DataError>,
) -> Result<(), crate::DataError> {
    // The whole batch checked as UTF-8 at once (fields start and end at ASCII delimiters,
    // so each is a slice of it); per cell only to name a bad one.
    let text = std::str::from_utf8(&batch.data).map_err(|_| bad_utf8(batch))?;
    let mut fields: Vec<&str> = Vec::with_capacity(width);
    for i in 0..batch.records.len() {
        fields.clear();
        for &(a, b) in batch.spans(i) {
            match text.get(a as usize..b as usize) {
                Some(cell) => fields.push(cell),
                None => return Err(bad_utf8(batch)),
            }
        }
        f(batch.records[i].line, &fields)?;
    }
    Ok(())
}

#[cfg(test)]
mod table_reader {
    use super::*;

    #[test]
    fn cells_are_read_in_order_and_a_bad_cell_names_its_line() {
        let csv = "a,b\n1,\"x,\"\"y\"\"\"\n2,é\n";
        let mut seen = Vec::new();
        TableReader::new(csv.as_bytes(), b',')
            .expect("header")
            .for_each(|line, f| {
                seen.push((line, f.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>()));
                Ok(())
            })
            .expect("read");
        assert_eq!(
            seen,
            vec![
                (2, vec!["1".to_owned(), "x,\"y\"".to_owned()]),
                (3, vec!["2".to_owned(), "é".to_owned()])
            ]
        );
        let bad = b"a,b\n1,2\n3,\xff\xfe\n";
        let e = TableReader::new(&bad[..], b',')
            .expect("header")
            .for_each(|_, _| Ok(()))
            .expect_err("not UTF-8");
        assert!(e.to_string().contains("line 3: a cell is not valid UTF-8"), "{e}");
        let e = TableReader::new(&bad[..], b',')
            .expect("header")
            .for_each_parallel(|_, _| Ok(()))
            .expect_err("not UTF-8");
        assert!(e.to_string().contains("line 3: a cell is not valid UTF-8"), "{e}");
    }

    /// Read on a thread of its own, a table gives the same records in the same order, and
    /// an error of the caller's stops the reading.
    #[test]
    fn a_table_read_in_parallel_is_the_same_table() {
        let mut csv = String::from("id,text\n");
        for i in 0..20_000 {
            csv.push_str(&format!("{i},\"cell {i}, \"\"quoted\"\"\nover two lines\"\n"));
        }
        let read = |parallel: bool| {
            let mut seen = Vec::new();
            let table = TableReader::new(csv.as_bytes(), b',').expect("header");
            let visit = |line: u64, f: &[&str]| {
                seen.push((line, f.join("|")));
                Ok(())
            };
            if parallel { table.for_each_parallel(visit) } else { table.for_each(visit) }
                .expect("read");
            seen
        };
        let serial = read(false);
        assert_eq!(serial.len(), 20_000);
        assert_eq!(read(true), serial);
        let mut calls = 0;
        let e = TableReader::new(csv.as_bytes(), b',')
            .expect("header")
            .for_each_parallel(|_, _| {
                calls += 1;
                if calls == 5000 { Err(crate::DataError::Input("stop".into())) } else { Ok(()) }
            })
            .expect_err("stopped");
        assert_eq!((e.to_string().contains("stop"), calls), (true, 5000));
    }

    /// Read once for two, a table gives both readers the same records in the same order;
    /// the second's end runs only after a complete read, and an error on either side (or
    /// in the reading) stops both and is the one returned.
    #[test]
    fn a_table_shared_by_two_readers_is_the_same_table_for_both() {
        let mut csv = String::from("id,text\n");
        for i in 0..20_000 {
            csv.push_str(&format!("{i},\"cell {i}, \"\"quoted\"\"\nover two lines\"\n"));
        }
        let mut serial = Vec::new();
        TableReader::new(csv.as_bytes(), b',')
            .expect("header")
            .for_each(|line, f| {
                serial.push((line, f.join("|")));
                Ok(())
            })
            .expect("read");
        let (mut a, mut b, mut ended) = (Vec::new(), Vec::new(), false);
        TableReader::new(csv.as_bytes(), b',')
            .expect("header")
            .for_each_shared(
                |line, f| {
                    a.push((line, f.join("|")));
                    Ok(())
                },
                |line, f| {
                    b.push((line, f.join("|")));
                    Ok(())
                },
                || {
                    ended = true;
                    Ok(())
                },
            )
            .expect("read");
        assert_eq!((a.len(), &a, &b, ended), (20_000, &serial, &serial, true));

        let stop = |at: usize| {
            let mut calls = 0;
            move |_: u64, _: &[&str]| {
                calls += 1;
                if calls == at {
                    Err(crate::DataError::Input(format!("stop {at}")))
                } else {
                    Ok(())
                }
            }
        };
        for (f_at, g_at) in [(5000, usize::MAX), (usize::MAX, 7000)] {
            let mut ended = false;
            let e = TableReader::new(csv.as_bytes(), b',')
                .expect("header")
                .for_each_shared(stop(f_at), stop(g_at), || {
                    ended = true;
                    Ok(())
                })
                .expect_err("stopped");
            let at = f_at.min(g_at);
            assert!(e.to_string().contains(&format!("stop {at}")), "{e}");
            assert!(!ended, "no end after a stopped read");
        }
        // A read that fails (a cell not UTF-8) fails both, and the end never runs.
        let mut bad = csv.clone().into_bytes();
        bad.extend_from_slice(b"1,\xff\n");
        let mut ended = false;
        let e = TableReader::new(&bad[..], b',')
            .expect("header")
            .for_each_shared(
                |_, _| Ok(()),
                |_, _| Ok(()),
                || {
                    ended = true;
                    Ok(())
                },
            )
            .expect_err("bad");
        assert!(e.to_string().contains("UTF-8"), "{e}");
        assert!(!ended);
    }
}
