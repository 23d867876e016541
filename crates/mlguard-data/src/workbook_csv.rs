//! Spreadsheets (Excel `.xlsx`, `.xlsm`, `.xlsb`, `.xls`, OpenDocument `.ods`) read as the
//! CSV text every data command reads: the first sheet, its first row the header. Numbers
//! as Rust prints them (`18`, not `18.0`), booleans `true`/`false`, dates `YYYY-MM-DD` and
//! date-times `YYYY-MM-DDTHH:MM:SS` (a workbook has no time zone), Excel errors as they
//! show (`#N/A` is a missing value to `infer-schema`), empty cells empty. The whole sheet is
//! read into memory (as Excel itself does; a sheet holds at most 1,048,576 rows), with
//! calamine (pure Rust). A zip that is not a workbook is refused as one.

use std::io::{Cursor, Read};

use calamine::{Data, Reader, open_workbook_auto_from_rs};

use crate::error::DataError;

/// Which sheet was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkbookInfo {
    /// Its name.
    pub sheet: String,
    /// How many sheets the workbook has.
    pub sheets: usize,
    /// Data rows (below the header).
    pub rows: u64,
}

/// Reads the workbook in `bytes` as CSV text.
pub(crate) fn reader(bytes: Vec<u8>) -> Result<(Box<dyn Read + Send>, WorkbookInfo), DataError> {
    let not_a_workbook = |e: calamine::Error| {
        DataError::Input(format!(
            "this is not a CSV file, and not a workbook either: a zip archive or Office file that cannot be read as a spreadsheet ({e})"
        ))
    };
    let mut book = open_workbook_auto_from_rs(Cursor::new(bytes)).map_err(not_a_workbook)?;
    let names = book.sheet_names();
    let Some(sheet) = names.first().cloned() else {
        return Err(DataError::Input("the workbook has no sheets".into()));
    };
    let range = book.worksheet_range(&sheet).map_err(|e| {
        DataError::Input(format!("cannot read sheet {sheet:?} of the workbook: {e}"))
    })?;
    let mut out = Vec::new();
    let mut text = String::new();
    let mut rows = 0u64;
    for (i, row) in range.rows().enumerate() {
        for (j, value) in row.iter().enumerate() {
            if j > 0 {
                out.push(b',');
            }
            text.clear();
            render(value, &mut text);
            crate::parquet_csv::cell(&mut out, &text);
        }
        out.push(b'\n');
        if i > 0 {
            rows += 1;
        }
    }
    if out.is_empty() {
        return Err(DataError::Input(format!("sheet {sheet:?} of the workbook is empty")));
    }
    let info = WorkbookInfo { sheet, sheets: names.len(), rows };
    Ok((Box::new(Cursor::new(out)), info))
}

/// One cell as CSV cell text (unquoted).
fn render(value: &Data, t: &mut String) {
    use std::fmt::Write as _;
    match value {
        Data::Empty => {}
        Data::Int(v) => {
            let _ = write!(t, "{v}");
        }
        Data::Float(v) => {
            let _ = write!(t, "{v}");
        }
        Data::Bool(b) => {
            let _ = write!(t, "{b}");
        }
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => t.push_str(s),
        Data::DateTime(d) => match d.as_datetime() {
            Some(dt) if d.is_datetime() => {
                let format = if dt.time() == chrono::NaiveTime::MIN {
                    "%Y-%m-%d"
                } else {
                    "%Y-%m-%dT%H:%M:%S"
                };
                let _ = write!(t, "{}", dt.format(format));
            }
            // A duration, or a date Excel cannot place: its serial number.
            _ => {
                let _ = write!(t, "{}", d.as_f64());
            }
        },
        Data::Error(e) => {
            let _ = write!(t, "{e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_zip_that_is_not_a_workbook_is_refused_as_one() {
        let zip = mlguard_testkit::stored_zip(&[("hello.txt", b"hi")]);
        let e = reader(zip).err().expect("refused").to_string();
        assert!(e.contains("not a workbook"), "{e}");
        let e = reader(b"PK\x03\x04 and nothing".to_vec()).err().expect("refused").to_string();
        assert!(e.contains("not a workbook"), "{e}");
    }
}
