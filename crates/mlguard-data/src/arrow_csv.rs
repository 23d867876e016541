//! Arrow IPC files (Feather v2: what pandas' `to_feather` and polars' `write_ipc` write,
//! lz4- or zstd-compressed or not) read as the CSV text every data command reads, with the
//! conventions of [`crate::parquet_csv`]: a header of the column names, nulls as empty
//! cells, numbers as written with a decimal point, booleans `true`/`false`, dates
//! `YYYY-MM-DD`, timestamps ISO 8601 in UTC (`Z` when the column has a time zone), categories
//! (dictionaries) as their values, binary that is not UTF-8 as hex. Nested columns (lists,
//! structs, maps) are refused. Record batches are converted one at a time on a thread of
//! their own under `catch_unwind`: a malformed file is an error, never a panic.

use std::io::{Read, Seek};
use std::sync::mpsc::SyncSender;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Date64Type, Decimal128Type, Float16Type, Float32Type, Float64Type, Int8Type,
    Int16Type, Int32Type, Int64Type, Time32MillisecondType, Time32SecondType,
    Time64MicrosecondType, Time64NanosecondType, TimestampMicrosecondType,
    TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType, UInt8Type, UInt16Type,
    UInt32Type, UInt64Type,
};
use arrow_array::{Array, RecordBatch};
use arrow_schema::{DataType, TimeUnit};

use crate::error::DataError;
use crate::parquet_csv::{CHUNK, Chunk, cell, converted, date, end_row, time_of_day, timestamp};

/// The first bytes of an Arrow IPC file.
pub(crate) const MAGIC: &[u8] = b"ARROW1";

/// What the file holds, read from its footer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArrowInfo {
    /// Record batches.
    pub batches: usize,
    /// The pandas index columns left out (`__index_level_0__`).
    pub index_columns: Vec<String>,
}

/// Reads the Arrow IPC file in `src` as CSV text.
pub(crate) fn reader<R: Read + Seek + Send + 'static>(
    src: R,
) -> Result<(Box<dyn Read + Send>, ArrowInfo), DataError> {
    converted("Arrow IPC", move |info, tx| convert(src, info, tx))
}

fn convert<R: Read + Seek>(
    src: R,
    info_tx: &SyncSender<Result<ArrowInfo, String>>,
    tx: &SyncSender<Chunk>,
) -> Result<(), String> {
    let file =
        arrow_ipc::reader::FileReader::try_new_buffered(src, None).map_err(|e| e.to_string())?;
    let schema = file.schema();
    let mut keep = Vec::new();
    let mut index_columns = Vec::new();
    for (i, field) in schema.fields().iter().enumerate() {
        let name = field.name();
        if name.starts_with("__index_level_") && name.ends_with("__") {
            index_columns.push(name.clone());
            continue;
        }
        if field.data_type().is_nested() {
            return Err(format!(
                "column {name:?} holds nested values ({}), not table cells; flatten it first",
                field.data_type()
            ));
        }
        keep.push(i);
    }
    if keep.is_empty() {
        return Err("it has no columns".into());
    }
    let _ = info_tx.send(Ok(ArrowInfo { batches: file.num_batches(), index_columns }));
    let mut out = Vec::with_capacity(CHUNK + 1024);
    for (n, &i) in keep.iter().enumerate() {
        if n > 0 {
            out.push(b',');
        }
        cell(&mut out, schema.field(i).name());
    }
    out.push(b'\n');
    let mut text = String::new();
    let mut int = itoa::Buffer::new();
    for batch in file {
        let batch: RecordBatch = batch.map_err(|e| e.to_string())?;
        let columns: Vec<Col<'_>> =
            keep.iter().map(|&i| Col::of(batch.column(i).as_ref())).collect();
        for row in 0..batch.num_rows() {
            for (n, column) in columns.iter().enumerate() {
                if n > 0 {
                    out.push(b',');
                }
                // The common types straight into the output (numbers never need quotes);
                // the others through `render`.
                match column {
                    Col::Int(a) => {
                        if a.is_valid(row) {
                            out.extend_from_slice(int.format(a.value(row)).as_bytes());
                        }
                    }
                    Col::Float(a) => {
                        if a.is_valid(row) {
                            use std::fmt::Write as _;
                            text.clear();
                            let _ = write!(text, "{}", a.value(row));
                            out.extend_from_slice(text.as_bytes());
                        }
                    }
                    Col::Text(a) => {
                        if a.is_valid(row) {
                            cell(&mut out, a.value(row));
                        }
                    }
                    Col::Any(a) => {
                        text.clear();
                        render(*a, row, &mut text)?;
                        cell(&mut out, &text);
                    }
                }
            }
            if !end_row(&mut out, tx) {
                return Ok(()); // the reader was dropped
            }
        }
    }
    if !out.is_empty() {
        let _ = tx.send(Ok(out));
    }
    Ok(())
}

/// A column of a record batch, the common types downcast once per batch.
enum Col<'a> {
    Int(&'a arrow_array::Int64Array),
    Float(&'a arrow_array::Float64Array),
    Text(&'a arrow_array::StringArray),
    Any(&'a dyn Array),
}

impl<'a> Col<'a> {
    fn of(a: &'a dyn Array) -> Col<'a> {
        match a.data_type() {
            DataType::Int64 => Col::Int(a.as_primitive::<Int64Type>()),
            DataType::Float64 => Col::Float(a.as_primitive::<Float64Type>()),
            DataType::Utf8 => Col::Text(a.as_string::<i32>()),
            _ => Col::Any(a),
        }
    }
}

/// The value at `i` as CSV cell text (unquoted); nothing for a null.
fn render(a: &dyn Array, i: usize, t: &mut String) -> Result<(), String> {
    use std::fmt::Write as _;
    if a.is_null(i) {
        return Ok(());
    }
    macro_rules! number {
        ($ty:ty) => {{
            let _ = write!(t, "{}", a.as_primitive::<$ty>().value(i));
        }};
    }
    match a.data_type() {
        DataType::Null => {}
        DataType::Boolean => {
            let _ = write!(t, "{}", a.as_boolean().value(i));
        }
        DataType::Int8 => number!(Int8Type),
        DataType::Int16 => number!(Int16Type),
        DataType::Int32 => number!(Int32Type),
        DataType::Int64 => number!(Int64Type),
        DataType::UInt8 => number!(UInt8Type),
        DataType::UInt16 => number!(UInt16Type),
        DataType::UInt32 => number!(UInt32Type),
        DataType::UInt64 => number!(UInt64Type),
        DataType::Float16 => {
            let _ = write!(t, "{}", f32::from(a.as_primitive::<Float16Type>().value(i)));
        }
        DataType::Float32 => number!(Float32Type),
        DataType::Float64 => number!(Float64Type),
        DataType::Utf8 => t.push_str(a.as_string::<i32>().value(i)),
        DataType::LargeUtf8 => t.push_str(a.as_string::<i64>().value(i)),
        DataType::Utf8View => t.push_str(a.as_string_view().value(i)),
        DataType::Binary => bytes(t, a.as_binary::<i32>().value(i)),
        DataType::LargeBinary => bytes(t, a.as_binary::<i64>().value(i)),
        DataType::BinaryView => bytes(t, a.as_binary_view().value(i)),
        DataType::FixedSizeBinary(_) => bytes(t, a.as_fixed_size_binary().value(i)),
        DataType::Date32 => date(t, i64::from(a.as_primitive::<Date32Type>().value(i))),
        DataType::Date64 => date(t, a.as_primitive::<Date64Type>().value(i).div_euclid(86_400_000)),
        DataType::Timestamp(unit, tz) => {
            let (secs, nanos, digits) = match unit {
                TimeUnit::Second => (a.as_primitive::<TimestampSecondType>().value(i), 0, 0),
                TimeUnit::Millisecond => {
                    let v = a.as_primitive::<TimestampMillisecondType>().value(i);
                    (v.div_euclid(1_000), v.rem_euclid(1_000) * 1_000_000, 3)
                }
                TimeUnit::Microsecond => {
                    let v = a.as_primitive::<TimestampMicrosecondType>().value(i);
                    (v.div_euclid(1_000_000), v.rem_euclid(1_000_000) * 1_000, 6)
                }
                TimeUnit::Nanosecond => {
                    let v = a.as_primitive::<TimestampNanosecondType>().value(i);
                    (v.div_euclid(1_000_000_000), v.rem_euclid(1_000_000_000), 9)
                }
            };
            timestamp(t, secs, nanos, digits);
            if tz.is_none() {
                // A naive date-time: no time zone to state.
                t.pop();
            }
        }
        DataType::Time32(TimeUnit::Second) => {
            time_of_day(
                t,
                i64::from(a.as_primitive::<Time32SecondType>().value(i)) * 1_000_000_000,
            );
        }
        DataType::Time32(_) => time_of_day(
            t,
            i64::from(a.as_primitive::<Time32MillisecondType>().value(i)) * 1_000_000,
        ),
        DataType::Time64(TimeUnit::Microsecond) => {
            time_of_day(
                t,
                a.as_primitive::<Time64MicrosecondType>().value(i).saturating_mul(1_000),
            );
        }
        DataType::Time64(_) => time_of_day(t, a.as_primitive::<Time64NanosecondType>().value(i)),
        DataType::Decimal128(_, scale) => {
            decimal(t, a.as_primitive::<Decimal128Type>().value(i), *scale);
        }
        DataType::Dictionary(_, _) => {
            let d = a.as_any_dictionary();
            let key = d.normalized_keys().get(i).copied().ok_or("a dictionary key out of range")?;
            let values = d.values();
            if key >= values.len() {
                return Err("a dictionary key out of range".into());
            }
            render(values.as_ref(), key, t)?;
        }
        other => return Err(format!("a column of type {other} (not a table cell)")),
    }
    Ok(())
}

/// Text as it is, binary that is not UTF-8 as hex (no byte lost).
fn bytes(t: &mut String, b: &[u8]) {
    use std::fmt::Write as _;
    match std::str::from_utf8(b) {
        Ok(s) => t.push_str(s),
        Err(_) => b.iter().for_each(|x| {
            let _ = write!(t, "{x:02x}");
        }),
    }
}

/// A decimal of `value × 10^-scale`, without an exponent.
fn decimal(t: &mut String, value: i128, scale: i8) {
    use std::fmt::Write as _;
    if scale <= 0 {
        let _ = write!(t, "{value}");
        t.extend(std::iter::repeat_n('0', usize::from(scale.unsigned_abs())));
        return;
    }
    let digits = value.unsigned_abs().to_string();
    let scale = usize::from(scale.unsigned_abs());
    if value < 0 {
        t.push('-');
    }
    if digits.len() <= scale {
        t.push_str("0.");
        t.extend(std::iter::repeat_n('0', scale - digits.len()));
        t.push_str(&digits);
    } else {
        let (whole, frac) = digits.split_at(digits.len() - scale);
        let _ = write!(t, "{whole}.{frac}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_without_exponents() {
        let mut t = String::new();
        for (v, s) in [(12345, 2), (-5, 3), (7, 0), (12, -2), (-12345, 2)] {
            decimal(&mut t, v, s);
            t.push(' ');
        }
        assert_eq!(t, "123.45 -0.005 7 1200 -123.45 ");
    }

    #[test]
    fn common_columns_read_as_every_other_column_is_rendered() {
        use arrow_array::{ArrayRef, Float64Array, Int32Array, Int64Array, StringArray};
        use std::sync::Arc;
        let ints = Int64Array::from(vec![Some(i64::MIN), None, Some(42)]);
        let floats = Float64Array::from(vec![Some(2.5000000000000004), Some(f64::NAN), None]);
        let texts = StringArray::from(vec![Some("a,b"), None, Some("say \"hi\"")]);
        // The same values in types without a fast path, for the reference rendering.
        let small = Int32Array::from(vec![Some(-7), None, Some(7)]);
        let columns: Vec<(&str, ArrayRef)> = vec![
            ("i", Arc::new(ints.clone())),
            ("x", Arc::new(floats.clone())),
            ("t", Arc::new(texts.clone())),
            ("s", Arc::new(small)),
        ];
        let batch = RecordBatch::try_from_iter(columns).expect("batch");
        let mut file = Vec::new();
        let mut w = arrow_ipc::writer::FileWriter::try_new(&mut file, &batch.schema()).expect("w");
        w.write(&batch).expect("write");
        w.finish().expect("finish");
        drop(w);
        let (mut text, _) = reader(std::io::Cursor::new(file)).expect("reader");
        let mut got = String::new();
        text.read_to_string(&mut got).expect("read");
        let mut want = String::from("i,x,t,s\n");
        for row in 0..3 {
            for (n, a) in [&ints as &dyn Array, &floats, &texts, batch.column(3).as_ref()]
                .into_iter()
                .enumerate()
            {
                if n > 0 {
                    want.push(',');
                }
                let mut t = String::new();
                render(a, row, &mut t).expect("render");
                let mut out = Vec::new();
                cell(&mut out, &t);
                want.push_str(std::str::from_utf8(&out).expect("utf-8"));
            }
            want.push('\n');
        }
        assert_eq!(got, want);
        assert!(got.contains("-9223372036854775808,2.5000000000000004,\"a,b\",-7\n"), "{got}");
        assert!(got.contains(",NaN,,\n"), "{got}");
    }

    #[test]
    fn garbage_after_the_magic_is_an_error_not_a_panic() {
        for bytes in [b"ARROW1".to_vec(), b"ARROW1\0\0garbageARROW1".to_vec()] {
            let e = reader(std::io::Cursor::new(bytes)).err().expect("refused");
            assert!(e.to_string().contains("this Arrow IPC file cannot be read"), "{e}");
        }
    }
}
