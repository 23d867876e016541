//! The columnar form of a stored table: an Apache Arrow IPC stream (what
//! `pyarrow.ipc.open_stream`, polars' `read_ipc_stream` and DuckDB's `arrow` extension
//! read) of the table's typed values, written beside the CSV at ingestion so that training
//! never parses text again.
//!
//! One column per CSV column, in header order, typed by the schema's field: `integer` as
//! Int64, `number` as Float64, `boolean` as Boolean, everything else (strings, dates, times,
//! years, lists, ...) as the Utf8 text of the CSV cell. A missing value (the field's
//! `missingValues`) is null, and so is a typed cell that does not read as its type (none
//! does in a table that passed validation; `NaN` and infinities in numbers, which learning
//! treats as missing, are null too). Record batches of [`BATCH_ROWS`] rows, uncompressed.
//! The CSV stays the table of record.

use std::io::{Read, Write};
use std::sync::Arc;

use arrow_array::builder::{BooleanBuilder, Float64Builder, Int64Builder, StringBuilder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field as ArrowField, Schema as ArrowSchema};

use crate::check::Missing;
use crate::csv::TableReader;
use crate::error::DataError;
use crate::schema::Schema;
use crate::types::{CellType, Value};

/// Rows per record batch.
pub const BATCH_ROWS: usize = 16_384;

enum Builder {
    Int(Int64Builder),
    Num(Float64Builder),
    Bool(BooleanBuilder),
    Text(StringBuilder),
}

/// How one CSV column becomes an Arrow column.
struct Column {
    cell: Option<CellType>,
    missing: Missing,
    builder: Builder,
}

impl Column {
    fn new(schema: &Schema, name: &str) -> (Column, DataType) {
        let field = schema.field(name);
        let cell = field.and_then(|f| CellType::for_field(f).ok());
        let missing = Missing::new(
            field.and_then(|f| f.missing_values.as_deref()).unwrap_or(&schema.missing_values),
        );
        let (builder, ty) = match cell {
            Some(CellType::Integer(_)) => (Builder::Int(Int64Builder::new()), DataType::Int64),
            Some(CellType::Number(_)) => (Builder::Num(Float64Builder::new()), DataType::Float64),
            Some(CellType::Boolean { .. }) => {
                (Builder::Bool(BooleanBuilder::new()), DataType::Boolean)
            }
            _ => (Builder::Text(StringBuilder::new()), DataType::Utf8),
        };
        (Column { cell, missing, builder }, ty)
    }

    fn push_null(&mut self) {
        match &mut self.builder {
            Builder::Int(b) => b.append_null(),
            Builder::Num(b) => b.append_null(),
            Builder::Bool(b) => b.append_null(),
            Builder::Text(b) => b.append_null(),
        }
    }

    fn push(&mut self, s: &str) {
        if self.missing.is_missing(s) {
            self.push_null();
            return;
        }
        let value = self.cell.as_ref().and_then(|c| c.parse(s).ok());
        match &mut self.builder {
            Builder::Int(b) => match value {
                Some(Value::Int(v)) => b.append_value(v),
                _ => b.append_null(),
            },
            Builder::Num(b) => match value {
                Some(Value::Num(v)) if v.is_finite() => b.append_value(v),
                _ => b.append_null(),
            },
            Builder::Bool(b) => match value {
                Some(Value::Bool(v)) => b.append_value(v),
                _ => b.append_null(),
            },
            Builder::Text(b) => b.append_value(s),
        }
    }

    fn finish(&mut self) -> ArrayRef {
        match &mut self.builder {
            Builder::Int(b) => Arc::new(b.finish()),
            Builder::Num(b) => Arc::new(b.finish()),
            Builder::Bool(b) => Arc::new(b.finish()),
            Builder::Text(b) => Arc::new(b.finish()),
        }
    }
}

fn arrow_err(e: impl std::fmt::Display) -> DataError {
    DataError::Input(format!("the columnar form: {e}"))
}

/// Writes the columnar form of the CSV table in `src` (comma-separated, with a header),
/// typed by `schema`, to `out`. Returns the rows written. Streams: one record batch in
/// memory at a time.
pub fn write<R: Read + Send, W: Write>(src: R, schema: &Schema, out: W) -> Result<u64, DataError> {
    let table = TableReader::new(src, b',')?;
    let mut writer = Writer::new(table.header(), schema, out)?;
    table.for_each_parallel(|_, cells| writer.push(cells))?;
    Ok(writer.finish()?.0)
}

/// The columnar form of a table, written a record at a time (see [`write`]): for a
/// reader of the CSV that has other uses for its records.
pub struct Writer<W: Write> {
    columns: Vec<Column>,
    schema: Arc<ArrowSchema>,
    writer: arrow_ipc::writer::StreamWriter<W>,
    pending: usize,
    rows: u64,
}

impl<W: Write> Writer<W> {
    /// The columnar form of a table with this header, typed by `schema`, into `out`.
    pub fn new(header: &[String], schema: &Schema, out: W) -> Result<Writer<W>, DataError> {
        let mut columns = Vec::new();
        let mut fields = Vec::new();
        for name in header {
            let (column, ty) = Column::new(schema, name);
            columns.push(column);
            fields.push(ArrowField::new(name, ty, true));
        }
        let arrow_schema = Arc::new(ArrowSchema::new(fields));
        let writer =
            arrow_ipc::writer::StreamWriter::try_new(out, &arrow_schema).map_err(arrow_err)?;
        Ok(Writer { columns, schema: arrow_schema, writer, pending: 0, rows: 0 })
    }

    /// Adds a record (cells past the header are ignored, missing ones are null).
    pub fn push(&mut self, cells: &[&str]) -> Result<(), DataError> {
        for (i, column) in self.columns.iter_mut().enumerate() {
            match cells.get(i) {
                Some(cell) => column.push(cell),
                None => column.push_null(),
            }
        }
        self.pending += 1;
        self.rows += 1;
        if self.pending == BATCH_ROWS {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), DataError> {
        let arrays: Vec<ArrayRef> = self.columns.iter_mut().map(Column::finish).collect();
        let batch = RecordBatch::try_new(self.schema.clone(), arrays).map_err(arrow_err)?;
        self.pending = 0;
        self.writer.write(&batch).map_err(arrow_err)
    }

    /// Writes the last batch and the end of the stream; returns the rows written and the
    /// output.
    pub fn finish(mut self) -> Result<(u64, W), DataError> {
        if self.pending > 0 || self.rows == 0 {
            self.flush()?;
        }
        self.writer.finish().map_err(arrow_err)?;
        let out = self.writer.into_inner().map_err(arrow_err)?;
        Ok((self.rows, out))
    }
}

/// Reads a columnar form from `src`: its column names, then `f` is called with every
/// record batch in order. A stream that does not decode (or whose decoder panics) is an
/// error.
pub fn read<R: Read, E: From<DataError>>(
    src: R,
    mut f: impl FnMut(&[String], &RecordBatch) -> Result<(), E>,
) -> Result<Vec<String>, E> {
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let reader = arrow_ipc::reader::StreamReader::try_new_buffered(src, None)
            .map_err(|e| E::from(arrow_err(e)))?;
        let names: Vec<String> =
            reader.schema().fields().iter().map(|f| f.name().clone()).collect();
        for batch in reader {
            f(&names, &batch.map_err(|e| E::from(arrow_err(e)))?)?;
        }
        Ok(names)
    }));
    caught.unwrap_or_else(|_| Err(arrow_err("the Arrow decoder failed").into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::Array;
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Float64Type, Int64Type};

    #[test]
    fn typed_columns_with_nulls_round_trip() {
        let schema = Schema::from_json_str(
            r#"{"fields": [
                {"name": "id", "type": "integer"},
                {"name": "x", "type": "number"},
                {"name": "ok", "type": "boolean"},
                {"name": "day", "type": "date"},
                {"name": "plan", "type": "string"}
            ], "missingValues": ["", "NA"]}"#,
        )
        .expect("schema");
        let csv = "id,x,ok,day,plan,extra\n1,2.5,true,2024-01-02,pro,a\n2,NA,false,,,b\n3,NaN,,2024-03-04,free,\n";
        let mut out = Vec::new();
        assert_eq!(write(csv.as_bytes(), &schema, &mut out).expect("write"), 3);
        let mut seen = 0;
        let names = read::<_, DataError>(&out[..], |names, batch| {
            assert_eq!(names.len(), 6);
            let id = batch.column(0).as_primitive::<Int64Type>();
            assert_eq!(id.values().to_vec(), vec![1, 2, 3]);
            let x = batch.column(1).as_primitive::<Float64Type>();
            assert_eq!((x.value(0), x.is_null(1), x.is_null(2)), (2.5, true, true));
            let ok = batch.column(2).as_boolean();
            assert_eq!((ok.value(0), ok.value(1), ok.is_null(2)), (true, false, true));
            let day = batch.column(3).as_string::<i32>();
            assert_eq!((day.value(0), day.is_null(1)), ("2024-01-02", true));
            let plan = batch.column(4).as_string::<i32>();
            assert!(plan.is_null(1));
            // A column the schema does not describe is kept as text.
            assert_eq!(batch.column(5).as_string::<i32>().value(2), "");
            seen += batch.num_rows();
            Ok(())
        })
        .expect("read");
        assert_eq!(names[5], "extra");
        assert_eq!(seen, 3);
    }

    #[test]
    fn a_damaged_stream_is_an_error_not_a_panic() {
        let schema = Schema::from_json_str(r#"{"fields": [{"name": "a", "type": "integer"}]}"#)
            .expect("schema");
        let mut out = Vec::new();
        write("a\n1\n2\n".as_bytes(), &schema, &mut out).expect("write");
        for cut in [0, 8, out.len() / 2, out.len() - 9] {
            let mut bad = out[..cut].to_vec();
            bad.extend_from_slice(&[0xff; 16]);
            assert!(read::<_, DataError>(&bad[..], |_, _| Ok(())).is_err(), "cut at {cut}");
        }
    }
}
