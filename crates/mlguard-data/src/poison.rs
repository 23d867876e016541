//! Signs of a poisoned training set that need no model: conflicting duplicates (the same
//! features with different labels), duplicate floods (one feature vector repeated far more
//! than chance), and robust outliers (median/MAD z-scores). Two streaming passes over the
//! file; memory: 16 bytes per distinct row plus a fixed sample per numeric column.
//!
//! ```
//! use mlguard_data::poison::{PoisonOptions, check_reader};
//! use mlguard_data::Schema;
//!
//! let schema = Schema::from_json_str(r#"{"fields": [
//!     {"name": "x", "type": "number"}, {"name": "y", "type": "integer", "role": "target"}]}"#).unwrap();
//! let csv = "x,y\n1.0,0\n1.0,1\n2.0,0\n";
//! let r = check_reader(csv.as_bytes(), csv.as_bytes(), &schema, &PoisonOptions::default()).unwrap();
//! assert_eq!(r.conflicts[0].rows, vec![1, 2]);
//! ```

use std::collections::HashMap;
use std::io::Read;

use crate::DataError;
use crate::csv::TableReader;
use crate::schema::{FieldType, Role, Schema};

/// Values sampled per numeric column to estimate its median and MAD.
pub const OUTLIER_SAMPLE: usize = 100_000;
/// Rows listed per finding (all are counted).
pub const MAX_ROWS_LISTED: usize = 20;

/// What to look for.
#[derive(Debug, Clone)]
pub struct PoisonOptions {
    /// Robust z-score above which a value is an outlier.
    pub outlier_z: f64,
    /// A feature vector repeated more than this share of the rows (and at least 10 times)
    /// is a flood.
    pub flood_share: f64,
    /// Field delimiter.
    pub delimiter: u8,
}

impl Default for PoisonOptions {
    fn default() -> Self {
        PoisonOptions { outlier_z: 5.0, flood_share: 0.001, delimiter: b',' }
    }
}

/// Rows with the same features and different labels.
#[derive(Debug, Clone, PartialEq)]
pub struct Conflict {
    /// Data rows (1-based), at most [`MAX_ROWS_LISTED`].
    pub rows: Vec<u64>,
    /// The labels seen.
    pub labels: Vec<String>,
}

/// One feature vector repeated many times.
#[derive(Debug, Clone, PartialEq)]
pub struct Flood {
    /// First rows (1-based), at most [`MAX_ROWS_LISTED`].
    pub rows: Vec<u64>,
    /// How many times it occurs.
    pub count: u64,
}

/// A value far from its column's median.
#[derive(Debug, Clone, PartialEq)]
pub struct Outlier {
    /// Data row (1-based).
    pub row: u64,
    /// Column name.
    pub column: String,
    /// The value.
    pub value: f64,
    /// |value − median| / (1.4826 · MAD).
    pub z: f64,
}

/// What was found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PoisonReport {
    /// Data rows read.
    pub rows: u64,
    /// Conflicting duplicates.
    pub conflicts: Vec<Conflict>,
    /// Duplicate floods.
    pub floods: Vec<Flood>,
    /// Robust outliers, in row order.
    pub outliers: Vec<Outlier>,
}

struct Group {
    rows: Vec<u64>,
    count: u64,
    labels: Vec<String>,
}

/// Checks a table (given twice: the checks need two passes, e.g. two opens of one file).
pub fn check_reader<R1: Read, R2: Read>(
    first: R1,
    second: R2,
    schema: &Schema,
    opts: &PoisonOptions,
) -> Result<PoisonReport, DataError> {
    let table = TableReader::new(first, opts.delimiter)?;
    let header: Vec<String> = table.header().to_vec();
    let role = |name: &str| schema.field(name).and_then(|f| f.role);
    let target = header.iter().position(|h| role(h) == Some(Role::Target));
    // Fields past the header (a ragged row) are not features.
    let skip = |i: usize| {
        i >= header.len()
            || Some(i) == target
            || matches!(role(&header[i]), Some(Role::Id | Role::Ignore))
    };
    let numeric: Vec<usize> = (0..header.len())
        .filter(|&i| !skip(i))
        .filter(|&i| {
            schema
                .field(&header[i])
                .is_some_and(|f| matches!(f.field_type, FieldType::Number | FieldType::Integer))
        })
        .collect();

    // Pass 1: group rows by their features; sample numeric columns.
    let mut groups: HashMap<u128, Group> = HashMap::new();
    let mut samples: Vec<Vec<f64>> = vec![Vec::new(); numeric.len()];
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    let mut row = 0u64;
    table.for_each(|_, fields| {
        row += 1;
        let mut h = blake3::Hasher::new();
        for (i, f) in fields.iter().enumerate() {
            if !skip(i) {
                h.update(f.as_bytes());
                h.update(&[0x1f]);
            }
        }
        let digest = h.finalize();
        let key = u128::from_le_bytes(digest.as_bytes()[..16].try_into().unwrap_or([0; 16]));
        let label = target.and_then(|t| fields.get(t)).map_or("", |s| s);
        let g = groups.entry(key).or_insert_with(|| Group {
            rows: Vec::new(),
            count: 0,
            labels: Vec::new(),
        });
        g.count += 1;
        if g.rows.len() < MAX_ROWS_LISTED {
            g.rows.push(row);
        }
        if !g.labels.iter().any(|l| l == label) && g.labels.len() < 16 {
            g.labels.push(label.to_owned());
        }
        for (k, &i) in numeric.iter().enumerate() {
            let Some(v) =
                fields.get(i).and_then(|s| s.parse::<f64>().ok()).filter(|v| v.is_finite())
            else {
                continue;
            };
            // Reservoir sampling with a fixed-seed xorshift: the report is reproducible.
            let s = &mut samples[k];
            if s.len() < OUTLIER_SAMPLE {
                s.push(v);
            } else {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                let j = (rng % row) as usize;
                if j < OUTLIER_SAMPLE {
                    s[j] = v;
                }
            }
        }
        Ok(())
    })?;
    let mut report = PoisonReport { rows: row, ..PoisonReport::default() };
    let flood_min = ((opts.flood_share * row as f64).ceil() as u64).max(10);
    let mut groups: Vec<Group> = groups.into_values().collect();
    groups.sort_by_key(|g| g.rows.first().copied().unwrap_or(0));
    for g in groups {
        if g.labels.len() > 1 {
            report.conflicts.push(Conflict { rows: g.rows.clone(), labels: g.labels.clone() });
        }
        if g.count > flood_min {
            report.floods.push(Flood { rows: g.rows, count: g.count });
        }
    }

    // Pass 2: robust z-scores against the sampled median and MAD.
    let centre: Vec<Option<(f64, f64)>> = samples
        .iter_mut()
        .map(|s| {
            let med = median(s)?;
            let mut dev: Vec<f64> = s.iter().map(|v| (v - med).abs()).collect();
            let mad = median(&mut dev)?;
            (mad > 0.0).then_some((med, 1.4826 * mad))
        })
        .collect();
    let table = TableReader::new(second, opts.delimiter)?;
    let mut row = 0u64;
    table.for_each(|_, fields| {
        row += 1;
        for (k, &i) in numeric.iter().enumerate() {
            let Some((med, scale)) = centre[k] else { continue };
            let Some(v) = fields.get(i).and_then(|s| s.parse::<f64>().ok()) else { continue };
            let z = (v - med).abs() / scale;
            if z > opts.outlier_z {
                report.outliers.push(Outlier { row, column: header[i].clone(), value: v, z });
            }
        }
        Ok(())
    })?;
    Ok(report)
}

fn median(v: &mut [f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema() -> Schema {
        Schema::from_json_str(
            r#"{"fields": [
                {"name": "id", "type": "integer", "role": "id"},
                {"name": "a", "type": "number"},
                {"name": "b", "type": "string"},
                {"name": "label", "type": "integer", "role": "target"}]}"#,
        )
        .expect("schema")
    }

    fn run(csv: &str) -> PoisonReport {
        check_reader(csv.as_bytes(), csv.as_bytes(), &schema(), &PoisonOptions::default())
            .expect("check")
    }

    #[test]
    fn ragged_rows_do_not_panic() {
        // Found by fuzzing: a record longer than the header.
        let r = run("id,a,b,label\n1,2.0,x,0,extra,more\n2,2.0,x,1\n");
        assert_eq!(r.rows, 2);
        assert_eq!(r.conflicts.len(), 1);
    }

    #[test]
    fn conflicting_duplicates_ignore_ids_and_list_rows() {
        let r = run("id,a,b,label\n1,1.5,x,0\n2,2.5,y,1\n3,1.5,x,1\n4,1.5,x,0\n");
        assert_eq!(
            r.conflicts,
            vec![Conflict { rows: vec![1, 3, 4], labels: vec!["0".into(), "1".into()] }]
        );
        assert!(r.floods.is_empty());
    }

    #[test]
    fn floods_and_outliers_on_generated_data() {
        // 2,000 rows of a normal-ish feature, 40 copies of one row, 5 planted outliers.
        let mut csv = String::from("id,a,b,label\n");
        let mut state = 12345u64;
        let mut planted = Vec::new();
        for i in 1..=2000u64 {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let u = (state >> 11) as f64 / (1u64 << 53) as f64;
            let mut a = 50.0 + 10.0 * (u - 0.5) * 3.4;
            if i % 400 == 0 {
                a = 500.0 + i as f64;
                planted.push(i);
            }
            csv.push_str(&format!("{i},{a:.3},b{},{}\n", i % 7, i % 2));
        }
        for i in 2001..=2040u64 {
            csv.push_str(&format!("{i},42.000,flood,1\n"));
        }
        let r = run(&csv);
        assert_eq!(r.rows, 2040);
        assert_eq!(r.floods.len(), 1);
        assert_eq!(r.floods[0].count, 40);
        assert_eq!(r.floods[0].rows[0], 2001);
        let rows: Vec<u64> = r.outliers.iter().map(|o| o.row).collect();
        assert_eq!(rows, planted, "every planted outlier and nothing else");
        assert!(r.outliers.iter().all(|o| o.column == "a" && o.z > 5.0));
    }
}
