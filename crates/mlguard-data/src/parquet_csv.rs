//! Parquet files read as the CSV text every data command reads: a header of the top-level
//! column names, then one line per row, with nulls as empty cells, numbers as Rust prints
//! them (shortest round-trip, a decimal point), booleans as `true`/`false`, dates as
//! `YYYY-MM-DD` and timestamps as ISO 8601 (`2024-03-01T12:30:00Z` in UTC, without the `Z`
//! for a naive date-time; a fraction only when there is one). Cells are quoted when they hold a comma, a quote or a
//! line break. The index columns pyarrow writes for a pandas index
//! (`__index_level_0__`) are left out, as `pd.read_parquet` makes them the index.
//!
//! Nested columns (structs, lists, maps) are refused: they are not table cells. Rows are
//! read with the parquet crate's record API on a thread of their own, streamed through a
//! bounded channel (memory: one row group's pages and a few 64 KiB chunks). A malformed
//! file is a [`DataError`] naming what is wrong, never a panic of the process: the reader
//! runs under `catch_unwind`, as the record API stops on types it does not convert.

use std::io::{self, Read};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::{SyncSender, sync_channel};

use parquet::basic::{LogicalType, Repetition, TimeUnit};
use parquet::file::reader::{ChunkReader, FileReader, SerializedFileReader};
use parquet::record::Field;
use parquet::record::reader::RowIter;

use crate::error::DataError;

/// The first bytes of a Parquet file.
pub(crate) const MAGIC: &[u8] = b"PAR1";

/// The name of the threads that convert files (their panics are reported, not printed).
const THREAD: &str = "mlguard-parquet";

/// What the file holds, read from its footer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParquetInfo {
    /// Rows, as the footer counts them.
    pub rows: u64,
    /// Row groups.
    pub row_groups: usize,
    /// pandas index columns left out.
    pub index_columns: Vec<String>,
}

/// How one column's values are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Column {
    /// A pandas index column: left out.
    skip: bool,
    /// An INT64 timestamp in nanoseconds (pandas' `datetime64[ns]`), which the record API
    /// hands over as a plain integer.
    nanos: bool,
    /// A timestamp not adjusted to UTC (a naive date-time): written without the `Z`.
    naive: bool,
}

pub(crate) use crate::chunks::Chunk;

/// Reads the Parquet file in `src` as CSV text. Errors in the footer or the schema come
/// back here; errors in the rows come back from the reader, as `InvalidData`.
pub(crate) fn reader<R: ChunkReader + 'static>(
    src: R,
) -> Result<(Box<dyn Read + Send>, ParquetInfo), DataError> {
    converted("Parquet", move |info, tx| convert(src, info, tx))
}

/// Runs `convert` on a thread of its own under `catch_unwind`: it sends what it learnt of
/// the file first (or fails), then the CSV text in chunks. What it learnt, or its error
/// (`format` names the file's format), comes back here; the text is the reader's.
pub(crate) fn converted<I: Send + 'static>(
    format: &'static str,
    convert: impl FnOnce(&SyncSender<Result<I, String>>, &SyncSender<Chunk>) -> Result<(), String>
    + Send
    + 'static,
) -> Result<(Box<dyn Read + Send>, I), DataError> {
    let (tx, rx) = sync_channel::<Chunk>(4);
    let (info_tx, info_rx) = sync_channel::<Result<I, String>>(1);
    quiet_panics_of_this_reader();
    std::thread::Builder::new()
        .name(THREAD.into())
        .spawn(move || {
            let result = catch_unwind(AssertUnwindSafe(|| convert(&info_tx, &tx)));
            let failure = match result {
                Ok(Ok(())) => return,
                Ok(Err(e)) => e,
                Err(panic) => format!(
                    "the {format} reader stopped: {}",
                    panic
                        .downcast_ref::<String>()
                        .map(String::as_str)
                        .or_else(|| panic.downcast_ref::<&str>().copied())
                        .unwrap_or("an unsupported or malformed file")
                ),
            };
            // Whichever side is waiting hears of it.
            let _ = info_tx.try_send(Err(failure.clone()));
            let _ = tx.send(Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("the {format} file: {failure}"),
            )));
        })
        .map_err(|e| DataError::Input(format!("cannot start the {format} reader: {e}")))?;
    let info = info_rx
        .recv()
        .map_err(|_| DataError::Input(format!("the {format} reader stopped")))?
        .map_err(|e| DataError::Input(format!("this {format} file cannot be read: {e}")))?;
    Ok((Box::new(crate::chunks::ChunkRead::new(rx)), info))
}

fn convert<R: ChunkReader + 'static>(
    src: R,
    info_tx: &SyncSender<Result<ParquetInfo, String>>,
    tx: &SyncSender<Chunk>,
) -> Result<(), String> {
    let file = SerializedFileReader::new(src).map_err(|e| e.to_string())?;
    let meta = file.metadata();
    let schema = meta.file_metadata().schema();
    let mut columns = Vec::new();
    let mut names = Vec::new();
    let mut index_columns = Vec::new();
    for field in schema.get_fields() {
        let name = field.name();
        if field.is_group() {
            return Err(format!(
                "column {name:?} holds nested values (a struct, list or map), not table cells; flatten it first (pandas: pd.json_normalize)"
            ));
        }
        let info = field.get_basic_info();
        if info.has_repetition() && info.repetition() == Repetition::REPEATED {
            return Err(format!("column {name:?} holds lists, not table cells; flatten it first"));
        }
        if name.starts_with("__index_level_") && name.ends_with("__") {
            index_columns.push(name.to_owned());
            columns.push(Column { skip: true, nanos: false, naive: false });
            continue;
        }
        let (nanos, naive) = match info.logical_type_ref() {
            Some(LogicalType::Timestamp(t)) => (t.unit == TimeUnit::NANOS, !t.is_adjusted_to_u_t_c),
            _ => (false, false),
        };
        columns.push(Column { skip: false, nanos, naive });
        names.push(name.to_owned());
    }
    if names.is_empty() {
        return Err("it has no columns".into());
    }
    let info = ParquetInfo {
        rows: u64::try_from(meta.file_metadata().num_rows()).unwrap_or(0),
        row_groups: meta.num_row_groups(),
        index_columns,
    };
    let mut out = Vec::with_capacity(CHUNK + 1024);
    for (i, n) in names.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        cell(&mut out, n);
    }
    out.push(b'\n');
    let _ = info_tx.send(Ok(info));
    let rows = RowIter::from_file_into(Box::new(file));
    let mut text = String::new();
    for row in rows {
        let row = row.map_err(|e| e.to_string())?;
        let mut first = true;
        for ((_, value), kind) in row.get_column_iter().zip(&columns) {
            if kind.skip {
                continue;
            }
            if !first {
                out.push(b',');
            }
            first = false;
            text.clear();
            render(value, *kind, &mut text)?;
            cell(&mut out, &text);
        }
        if !end_row(&mut out, tx) {
            return Ok(()); // the reader was dropped
        }
    }
    if !out.is_empty() {
        let _ = tx.send(Ok(out));
    }
    Ok(())
}

/// Bytes sent at a time.
pub(crate) const CHUNK: usize = 64 * 1024;

/// Ends a CSV row in `out` and sends `out` once it holds a chunk; false when the reader is
/// gone (stop converting).
pub(crate) fn end_row(out: &mut Vec<u8>, tx: &SyncSender<Chunk>) -> bool {
    out.push(b'\n');
    if out.len() >= CHUNK {
        if tx.send(Ok(std::mem::take(out))).is_err() {
            return false;
        }
        out.reserve(CHUNK + 1024);
    }
    true
}

/// One value as CSV cell text (unquoted).
fn render(value: &Field, kind: Column, t: &mut String) -> Result<(), String> {
    use std::fmt::Write as _;
    let _ = match value {
        Field::Null => Ok(()),
        Field::Bool(b) => write!(t, "{b}"),
        Field::Byte(v) => write!(t, "{v}"),
        Field::Short(v) => write!(t, "{v}"),
        Field::Int(v) => write!(t, "{v}"),
        Field::Long(v) if kind.nanos => {
            timestamp(t, v.div_euclid(1_000_000_000), v.rem_euclid(1_000_000_000), 9);
            Ok(())
        }
        Field::Long(v) => write!(t, "{v}"),
        Field::UByte(v) => write!(t, "{v}"),
        Field::UShort(v) => write!(t, "{v}"),
        Field::UInt(v) => write!(t, "{v}"),
        Field::ULong(v) => write!(t, "{v}"),
        Field::Float16(v) => write!(t, "{}", f32::from(*v)),
        Field::Float(v) => write!(t, "{v}"),
        Field::Double(v) => write!(t, "{v}"),
        Field::Decimal(_) => write!(t, "{value}"),
        Field::Str(s) => {
            t.push_str(s);
            Ok(())
        }
        Field::Bytes(b) => {
            match std::str::from_utf8(b.data()) {
                Ok(s) => t.push_str(s),
                // Binary that is not text: hex, so no byte is lost.
                Err(_) => b.data().iter().for_each(|x| {
                    let _ = write!(t, "{x:02x}");
                }),
            }
            Ok(())
        }
        Field::Date(days) => {
            date(t, i64::from(*days));
            Ok(())
        }
        Field::TimeMillis(ms) => {
            time_of_day(t, i64::from(*ms) * 1_000_000);
            Ok(())
        }
        Field::TimeMicros(us) => {
            time_of_day(t, us.saturating_mul(1_000));
            Ok(())
        }
        Field::TimestampMillis(ms) => {
            timestamp(t, ms.div_euclid(1_000), ms.rem_euclid(1_000) * 1_000_000, 3);
            Ok(())
        }
        Field::TimestampMicros(us) => {
            timestamp(t, us.div_euclid(1_000_000), us.rem_euclid(1_000_000) * 1_000, 6);
            Ok(())
        }
        Field::Group(_) | Field::ListInternal(_) | Field::MapInternal(_) => {
            return Err("a nested value (struct, list or map) in a column".into());
        }
    };
    let is_timestamp = matches!(value, Field::TimestampMillis(_) | Field::TimestampMicros(_))
        || (kind.nanos && matches!(value, Field::Long(_)));
    if kind.naive && is_timestamp {
        t.pop(); // the `Z`: a naive date-time has no time zone
    }
    Ok(())
}

/// `YYYY-MM-DD` of the day `days` after 1970-01-01 (proleptic Gregorian; Howard Hinnant's
/// `civil_from_days`).
pub(crate) fn date(t: &mut String, days: i64) {
    use std::fmt::Write as _;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let _ = write!(t, "{y:04}-{m:02}-{d:02}");
}

/// `HH:MM:SS[.fraction]` of `nanos` after midnight.
pub(crate) fn time_of_day(t: &mut String, nanos: i64) {
    use std::fmt::Write as _;
    let secs = nanos.div_euclid(1_000_000_000);
    let frac = nanos.rem_euclid(1_000_000_000);
    let _ = write!(t, "{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60);
    fraction(t, frac, 9);
}

/// ISO 8601 in UTC of `secs` (and `nanos`) after the epoch, the fraction to `digits` digits
/// and only when it is not zero.
pub(crate) fn timestamp(t: &mut String, secs: i64, nanos: i64, digits: usize) {
    use std::fmt::Write as _;
    date(t, secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    let _ = write!(t, "T{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
    fraction(t, nanos, digits);
    t.push('Z');
}

fn fraction(t: &mut String, nanos: i64, digits: usize) {
    if nanos != 0 {
        let all = format!("{nanos:09}");
        let shown = all[..digits.min(9)].trim_end_matches('0');
        t.push('.');
        t.push_str(if shown.is_empty() { "0" } else { shown });
    }
}

/// Appends `text` as a CSV cell, quoted when it must be.
pub(crate) fn cell(out: &mut Vec<u8>, text: &str) {
    if text.bytes().any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r')) {
        out.push(b'"');
        for b in text.bytes() {
            if b == b'"' {
                out.push(b'"');
            }
            out.push(b);
        }
        out.push(b'"');
    } else {
        out.extend_from_slice(text.as_bytes());
    }
}

/// Panics of the converting thread become its error message; the default hook would
/// print them to standard error as a crash report.
fn quiet_panics_of_this_reader() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if std::thread::current().name() != Some(THREAD) {
                previous(info);
            }
        }));
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_times_are_iso_8601() {
        let mut t = String::new();
        date(&mut t, 0);
        t.push(' ');
        date(&mut t, 19_783); // 2024-03-01
        t.push(' ');
        date(&mut t, -1);
        t.push(' ');
        timestamp(&mut t, 1_709_296_200, 0, 9);
        t.push(' ');
        timestamp(&mut t, -1, 500_000_000, 3);
        t.push(' ');
        time_of_day(&mut t, 45_296_789_000_000);
        assert_eq!(
            t,
            "1970-01-01 2024-03-01 1969-12-31 2024-03-01T12:30:00Z 1969-12-31T23:59:59.5Z 12:34:56.789"
        );
    }

    #[test]
    fn cells_are_quoted_when_they_must_be() {
        let mut out = Vec::new();
        for (i, c) in ["plain", "a,b", "say \"hi\"", "two\nlines"].iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            cell(&mut out, c);
        }
        assert_eq!(out, b"plain,\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\"");
    }

    #[test]
    fn garbage_after_the_magic_is_an_error_not_a_panic() {
        for bytes in [b"PAR1".to_vec(), b"PAR1garbagePAR1".to_vec(), b"PAR1\0\0\0\0PAR1".to_vec()] {
            let e = reader(bytes::Bytes::from(bytes)).err().expect("refused");
            assert!(e.to_string().contains("this Parquet file cannot be read"), "{e}");
        }
    }
}
