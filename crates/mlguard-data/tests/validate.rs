//! End-to-end checks of the validator: every type and constraint, valid and invalid, the
//! CSV and header checks, keys, masking and reporting.

use mlguard_data::{Schema, ValidateOptions, validate_reader};
use mlguard_findings::{Level, Report};
use serde_json::json;

fn run_opts(schema: serde_json::Value, csv: &str, opts: &ValidateOptions) -> Report {
    let schema = Schema::from_json(&schema).expect("schema is valid");
    validate_reader(csv.as_bytes(), "t.csv", &schema, opts).expect("validation runs")
}

fn run(schema: serde_json::Value, csv: &str) -> Report {
    run_opts(schema, csv, &ValidateOptions { max_errors: 1000, ..ValidateOptions::default() })
}

/// (check, line, field) of every listed finding, in order.
fn hits(r: &Report) -> Vec<(String, u64, String)> {
    r.findings
        .iter()
        .map(|f| {
            (
                f.check.clone(),
                f.location.line.unwrap_or(0),
                f.location.field.clone().unwrap_or_default(),
            )
        })
        .collect()
}

/// One field `v` with the given definition; each case is (cell, expected check or "").
fn single_field(field: serde_json::Value, cases: &[(&str, &str)]) {
    let mut def = field;
    def["name"] = json!("v");
    let schema = json!({ "fields": [def] });
    for (cell, expect) in cases {
        let quoted = format!("\"{}\"", cell.replace('"', "\"\""));
        let r = run(schema.clone(), &format!("v\n{quoted}\n"));
        let got: Vec<String> = r
            .findings
            .iter()
            .filter(|f| f.level == Level::Error)
            .map(|f| f.check.clone())
            .collect();
        if expect.is_empty() {
            assert!(got.is_empty(), "{def} with {cell:?}: expected valid, got {got:?}");
        } else {
            assert_eq!(got, vec![expect.to_string()], "{def} with {cell:?}");
        }
    }
}

#[test]
fn every_type_valid_and_invalid() {
    let t = "cell.type";
    single_field(json!({"type": "string"}), &[("anything", ""), ("", "")]);
    single_field(json!({"type": "string", "format": "email"}), &[("a@b.co", ""), ("a@b", t)]);
    single_field(
        json!({"type": "string", "format": "uri"}),
        &[("http://x.org/a", ""), ("no uri", t)],
    );
    single_field(
        json!({"type": "string", "format": "uuid"}),
        &[("123e4567-e89b-12d3-a456-426614174000", ""), ("123e4567", t)],
    );
    single_field(
        json!({"type": "number"}),
        &[("1.5", ""), ("-2e3", ""), ("1,5", t), ("NaN", t), ("INF", t), ("-INF", t)],
    );
    single_field(
        json!({"type": "number", "allowNonFinite": true}),
        &[("NaN", ""), ("-INF", ""), ("x", t)],
    );
    single_field(
        json!({"type": "number", "decimalChar": ",", "groupChar": "."}),
        &[("1.234,5", ""), ("1,2,3", t), ("1.5", "")],
    );
    single_field(
        json!({"type": "number", "bareNumber": false}),
        &[("€95", ""), ("95 %", ""), ("euro", t)],
    );
    single_field(
        json!({"type": "integer"}),
        &[("42", ""), ("-7", ""), ("4.0", ""), ("4.5", t), ("4e2", t), ("99999999999999999999", t)],
    );
    single_field(json!({"type": "integer", "groupChar": ","}), &[("1,000", ""), ("1.000", t)]);
    single_field(json!({"type": "boolean"}), &[("true", ""), ("FALSE", ""), ("1", ""), ("yes", t)]);
    single_field(
        json!({"type": "boolean", "trueValues": ["y"], "falseValues": ["n"]}),
        &[("y", ""), ("n", ""), ("true", t)],
    );
    single_field(
        json!({"type": "date"}),
        &[("2024-02-29", ""), ("2023-02-29", t), ("01/02/2024", t)],
    );
    single_field(
        json!({"type": "date", "format": "%d/%m/%Y"}),
        &[("31/01/2024", ""), ("2024-01-31", t)],
    );
    single_field(
        json!({"type": "datetime"}),
        &[("2024-01-01T10:00:00Z", ""), ("2024-01-01T10:00:00+05:30", ""), ("2024-01-01", t)],
    );
    single_field(
        json!({"type": "datetime", "format": "%d.%m.%Y %H:%M"}),
        &[("31.01.2024 23:59", ""), ("2024-01-31T23:59:00", t)],
    );
    single_field(json!({"type": "time"}), &[("23:59:59", ""), ("24:00:00", t)]);
    single_field(json!({"type": "year"}), &[("1999", ""), ("99", t)]);
    single_field(json!({"type": "yearmonth"}), &[("1999-12", ""), ("1999-13", t)]);
    single_field(json!({"type": "duration"}), &[("P1DT2H", ""), ("1 day", t)]);
    single_field(json!({"type": "object"}), &[("{\"a\": 1}", ""), ("[1]", t)]);
    single_field(json!({"type": "array"}), &[("[1, 2]", ""), ("{}", t)]);
    single_field(json!({"type": "list", "itemType": "integer"}), &[("1,2,3", ""), ("1,b", t)]);
    single_field(json!({"type": "geopoint"}), &[("10.5, 50.1", ""), ("500, 50", t)]);
    single_field(
        json!({"type": "geojson"}),
        &[("{\"type\": \"Point\", \"coordinates\": [1, 2]}", ""), ("{\"type\": \"Blob\"}", t)],
    );
    single_field(json!({"type": "any"}), &[("whatever", "")]);
}

#[test]
fn every_constraint_valid_and_invalid() {
    let c = |n: &str| format!("constraint.{n}");
    single_field(
        json!({"type": "integer", "constraints": {"required": true}}),
        &[("1", ""), ("", &c("required"))],
    );
    single_field(
        json!({"type": "integer", "constraints": {"minimum": 0}}),
        &[("0", ""), ("-1", &c("minimum"))],
    );
    single_field(
        json!({"type": "integer", "constraints": {"maximum": 10}}),
        &[("10", ""), ("11", &c("maximum"))],
    );
    single_field(
        json!({"type": "number", "constraints": {"exclusiveMinimum": 0}}),
        &[("0.1", ""), ("0", &c("exclusiveMinimum"))],
    );
    single_field(
        json!({"type": "number", "constraints": {"exclusiveMaximum": 1}}),
        &[("0.99", ""), ("1", &c("exclusiveMaximum"))],
    );
    single_field(
        json!({"type": "date", "constraints": {"minimum": "2000-01-01"}}),
        &[("2000-01-01", ""), ("1999-12-31", &c("minimum"))],
    );
    single_field(
        json!({"type": "datetime", "constraints": {"maximum": "2024-01-01T00:00:00Z"}}),
        &[("2024-01-01T01:00:00+02:00", ""), ("2024-01-01T00:00:01Z", &c("maximum"))],
    );
    single_field(
        json!({"type": "year", "constraints": {"minimum": 1900}}),
        &[("1900", ""), ("1899", &c("minimum"))],
    );
    single_field(
        json!({"type": "string", "constraints": {"minLength": 2}}),
        &[("ab", ""), ("é", &c("minLength"))],
    );
    single_field(
        json!({"type": "string", "constraints": {"maxLength": 2}}),
        &[("éé", ""), ("abc", &c("maxLength"))],
    );
    single_field(
        json!({"type": "list", "constraints": {"maxLength": 2}}),
        &[("a,b", ""), ("a,b,c", &c("maxLength"))],
    );
    single_field(
        json!({"type": "string", "constraints": {"pattern": "\\d{3}"}}),
        &[("123", ""), ("1234", &c("pattern")), ("x123", &c("pattern"))],
    );
    single_field(
        json!({"type": "string", "constraints": {"pattern": "a|b"}}),
        &[("a", ""), ("ab", &c("pattern"))],
    );
    single_field(
        json!({"type": "string", "constraints": {"enum": ["x", "y"]}}),
        &[("y", ""), ("z", &c("enum"))],
    );
    single_field(
        json!({"type": "number", "constraints": {"enum": [1, 2.5]}}),
        &[("1.0", ""), ("2.50", ""), ("3", &c("enum"))],
    );
    single_field(
        json!({"type": "integer", "constraints": {"enum": ["1", 2]}}),
        &[("2", ""), ("3", &c("enum"))],
    );
}

#[test]
fn unique_primary_and_unique_keys() {
    let schema = json!({
        "fields": [
            {"name": "id", "type": "integer"},
            {"name": "email", "type": "string", "constraints": {"unique": true}},
            {"name": "a", "type": "string"},
            {"name": "b", "type": "number"}
        ],
        "primaryKey": "id",
        "uniqueKeys": [["a", "b"]]
    });
    let csv = "id,email,a,b\n1,x@y.z,p,1\n2,,p,2\n3,,p,1.0\n1,x@y.z,,1\n,z@y.z,q,\n";
    let r = run(schema, csv);
    assert_eq!(
        hits(&r),
        vec![
            ("constraint.unique".into(), 4, "".into()),
            ("key.primary".into(), 5, "id".into()),
            ("constraint.unique".into(), 5, "email".into()),
            ("constraint.required".into(), 6, "id".into()),
        ],
        "missing values are not compared; 1 and 1.0 are the same number"
    );
    let composite = json!({
        "fields": [{"name": "x", "type": "string"}, {"name": "y", "type": "date"}],
        "primaryKey": ["x", "y"]
    });
    let r = run(composite, "x,y\na,2024-01-01\na,2024-01-02\nb,2024-01-01\na,2024-01-01\n");
    assert_eq!(hits(&r), vec![("key.primary".into(), 5, "".into())]);
    assert_eq!(r.findings[0].value.as_deref(), Some("a, 2024-01-01"));
}

#[test]
fn missing_values_table_and_field_level() {
    let schema = json!({
        "fields": [
            {"name": "a", "type": "integer", "constraints": {"required": true}},
            {"name": "b", "type": "integer", "missingValues": ["-"]}
        ],
        "missingValues": ["", "NA"]
    });
    let r = run(schema, "a,b\nNA,-\n1,NA\n2,\n");
    assert_eq!(
        hits(&r),
        vec![
            ("constraint.required".into(), 2, "a".into()),
            ("cell.type".into(), 3, "b".into()),
            ("cell.type".into(), 4, "b".into()),
        ]
    );
}

#[test]
fn fields_match_modes() {
    let fields = json!([{"name": "a", "type": "string"}, {"name": "b", "type": "string"}]);
    let check = |mode: &str, csv: &str| -> Vec<String> {
        let mut s = json!({"fields": fields.clone()});
        if !mode.is_empty() {
            s["fieldsMatch"] = json!(mode);
        }
        run(s, csv).findings.iter().map(|f| f.check.clone()).collect()
    };
    assert!(check("", "a,b\n1,2\n").is_empty());
    assert_eq!(check("", "b,a\n1,2\n"), vec!["header.field-order"]);
    assert_eq!(check("exact", "a,b,c\n1,2,3\n"), vec!["header.extra-field"]);
    assert_eq!(check("exact", "a\n1\n"), vec!["header.missing-field"]);
    assert!(check("equal", "b,a\n1,2\n").is_empty());
    assert_eq!(check("equal", "b\n1\n"), vec!["header.missing-field"]);
    assert!(check("subset", "c,b,a\n1,2,3\n").is_empty());
    assert_eq!(check("subset", "a,c\n1,2\n"), vec!["header.missing-field"]);
    assert!(check("superset", "a\n1\n").is_empty());
    assert_eq!(check("superset", "a,c\n1,2\n"), vec!["header.extra-field"]);
    assert!(check("partial", "a,z\n1,2\n").is_empty());
    assert_eq!(check("partial", "y,z\n1,2\n"), vec!["header.missing-field"]);
    // A required field may never be absent, whatever the mode.
    let s = json!({"fieldsMatch": "superset", "fields": [{"name": "a", "constraints": {"required": true}}, {"name": "b"}]});
    assert_eq!(run(s, "b\n1\n").findings[0].check, "header.missing-field");
}

#[test]
fn csv_file_problems() {
    let schema =
        json!({"fields": [{"name": "a", "type": "string"}, {"name": "b", "type": "integer"}]});
    let checks = |csv: &[u8]| -> Vec<String> {
        let s = Schema::from_json(&schema).expect("schema");
        let r = validate_reader(csv, "t.csv", &s, &ValidateOptions::default()).expect("runs");
        r.findings.iter().map(|f| f.check.clone()).collect()
    };
    assert_eq!(checks(b""), vec!["csv.empty-file"]);
    assert_eq!(checks(b"a,b\n"), vec!["csv.no-data"]);
    assert_eq!(checks(b"a,b"), vec!["csv.no-data"]);
    assert_eq!(checks(b"\xEF\xBB\xBFa,b\nx,1\n"), vec!["csv.bom"]);
    assert_eq!(checks(b"\xFF\xFEa\0,\0b\0"), vec!["csv.encoding"]);
    assert!(checks(b"a,b\r\nx,1\r\n").is_empty(), "CRLF alone is fine");
    assert_eq!(checks(b"a,b\r\nx,1\ny,2\r\n"), vec!["csv.mixed-line-endings"]);
    assert_eq!(checks(b"a,b\nx,1,9\ny\n"), vec!["csv.ragged-row", "csv.ragged-row"]);
    assert_eq!(checks(b"a,b\n5\" tv,1\n"), vec!["csv.quote-in-unquoted-field"]);
    assert_eq!(checks(b"a,b\n\"x\"y,1\n"), vec!["csv.text-after-quote"]);
    assert_eq!(checks(b"a,b\nx,1\n\"open,2\n"), vec!["csv.unterminated-quote", "csv.ragged-row"]);
    assert_eq!(checks(b"a,b\nx,1\n\ny,2\n"), vec!["csv.blank-line"]);
    assert_eq!(checks(b"a,b\n\xff,1\n"), vec!["csv.invalid-utf8"]);
    assert_eq!(checks(b"a,a\nx,1\n"), vec!["header.duplicate-name", "header.missing-field"]);
    assert_eq!(checks(b"a,\nx,1\n"), vec!["header.blank-name", "header.missing-field"]);
    let s = Schema::from_json(&schema).expect("schema");
    let opts = ValidateOptions { max_field_bytes: 4, ..ValidateOptions::default() };
    let r = validate_reader(&b"a,b\nabcdefgh,1\n"[..], "t.csv", &s, &opts).expect("runs");
    assert_eq!(r.findings[0].check, "csv.field-too-large");
}

#[test]
fn quoted_newlines_keep_line_numbers_true() {
    let schema =
        json!({"fields": [{"name": "a", "type": "string"}, {"name": "b", "type": "integer"}]});
    let r = run(schema, "a,b\n\"two\nlines\",1\nx,bad\n");
    assert_eq!(hits(&r), vec![("cell.type".into(), 4, "b".into())]);
    assert_eq!(r.findings[0].location.row, Some(2));
}

#[test]
fn formula_injection_rules() {
    let schema = json!({"fields": [{"name": "t", "type": "string"}, {"name": "n", "type": "number"}, {"name": "phone", "type": "string"}]});
    let csv = "t,n,phone\n=SUM(A1),-5,+1-555-0100\n@cmd,+3,-\n\"\tx\",1,+44 (0)20 7946 0958\n-2+3+cmd|' /C calc'!A0,2,x\n\"\rx\",3,x\n";
    let r = run(schema.clone(), csv);
    let lines: Vec<u64> = r
        .findings
        .iter()
        .filter(|f| f.check == "cell.formula-injection")
        .map(|f| f.location.line.unwrap_or(0))
        .collect();
    assert_eq!(lines, vec![2, 3, 4, 5, 6], "numbers and phone numbers are not formulas");
    assert!(r.findings.iter().all(|f| f.level == Level::Warning));
    assert_eq!(r.errors(), 0);
    let strict =
        run_opts(schema, csv, &ValidateOptions { strict: true, ..ValidateOptions::default() });
    assert_eq!(strict.errors(), 5, "--strict makes them errors");
}

#[test]
fn pii_values_are_masked_everywhere() {
    let schema = json!({
        "fields": [
            {"name": "id", "type": "integer"},
            {"name": "ssn", "type": "string", "pii": "ssn", "constraints": {"pattern": "\\d{3}-\\d{2}-\\d{4}"}}
        ],
        "primaryKey": "ssn"
    });
    let r = run(schema, "id,ssn\n1,123-45-678\n2,987-65-4321\n3,987-65-4321\n4,=Jane\n");
    let json = r.to_json();
    for secret in ["123-45-678", "987-65-4321", "Jane"] {
        assert!(!json.contains(secret), "{secret} leaked: {json}");
    }
    let values: Vec<&str> = r.findings.iter().filter_map(|f| f.value.as_deref()).collect();
    // "=Jane" fails the pattern: an error, so no formula warning on top.
    assert_eq!(values, vec!["###-##-###", "###-##-####", "=Xxxx"]);
}

#[test]
fn limit_lists_first_findings_and_counts_all() {
    let schema =
        json!({"fields": [{"name": "n", "type": "integer", "constraints": {"maximum": 5}}]});
    let mut csv = String::from("n\n");
    for i in 0..20_000 {
        csv.push_str(&format!("{}\n", i % 10));
    }
    for threads in [1, 2, 4] {
        let opts = ValidateOptions { max_errors: 3, threads, ..ValidateOptions::default() };
        let r = run_opts(schema.clone(), &csv, &opts);
        assert_eq!(r.errors(), 8_000, "threads={threads}");
        let lines: Vec<u64> = r.findings.iter().map(|f| f.location.line.unwrap_or(0)).collect();
        assert_eq!(lines, vec![8, 9, 10], "the first findings in file order, threads={threads}");
        assert_eq!(r.omitted, 7_997);
        assert_eq!(r.stats["rows"], 20_000);
    }
}

#[test]
fn duplicates_found_across_batches_and_threads() {
    let schema = json!({"fields": [{"name": "id", "type": "string"}], "primaryKey": "id"});
    let mut csv = String::from("id\n");
    for i in 0..30_000 {
        csv.push_str(&format!("k{i}\n"));
    }
    csv.push_str("k17\nk29999\n");
    let r = run_opts(schema, &csv, &ValidateOptions { threads: 3, ..ValidateOptions::default() });
    let lines: Vec<u64> = r.findings.iter().map(|f| f.location.line.unwrap_or(0)).collect();
    assert_eq!(lines, vec![30_002, 30_003]);
}

#[test]
fn schema_errors_name_the_place() {
    let cases = [
        (json!([]), "/", "must be a JSON object"),
        (json!({}), "/fields", "needs a `fields` array"),
        (json!({"fields": [{"type": "string"}]}), "/fields/0", "no `name`"),
        (
            json!({"fields": [{"name": "a", "type": "strng"}]}),
            "/fields/0/type",
            "unknown type \"strng\"",
        ),
        (
            json!({"fields": [{"name": "a", "type": "string", "format": "ipv9"}]}),
            "/fields/0/format",
            "not defined",
        ),
        (
            json!({"fields": [{"name": "a", "type": "integer", "constraints": {"minimum": "x"}}]}),
            "/fields/0/constraints/minimum",
            "not a valid integer",
        ),
        (
            json!({"fields": [{"name": "a", "type": "string", "constraints": {"maximum": 3}}]}),
            "/fields/0/constraints/maximum",
            "does not apply",
        ),
        (
            json!({"fields": [{"name": "a", "type": "integer", "constraints": {"minLength": 3}}]}),
            "/fields/0/constraints/minLength",
            "does not apply",
        ),
        (
            json!({"fields": [{"name": "a", "constraints": {"pattern": "("}}]}),
            "/fields/0/constraints/pattern",
            "bad pattern",
        ),
        (
            json!({"fields": [{"name": "a", "constraints": {"required": "yes"}}]}),
            "/fields/0/constraints/required",
            "true or false",
        ),
        (
            json!({"fields": [{"name": "a", "type": "integer", "constraints": {"enum": ["x"]}}]}),
            "/fields/0/constraints/enum/0",
            "not a valid integer",
        ),
        (json!({"fields": [{"name": "a", "role": "label"}]}), "/fields/0/role", "unknown role"),
        (json!({"fields": [{"name": "a", "pii": "dna"}]}), "/fields/0/pii", "unknown pii kind"),
        (
            json!({"fields": [{"name": "a", "protect": "hide"}]}),
            "/fields/0/protect",
            "unknown protect action",
        ),
        (
            json!({"fields": [{"name": "a"}, {"name": "a"}]}),
            "/fields/1/name",
            "duplicate field name",
        ),
        (json!({"fields": [{"name": "a"}], "primaryKey": ["b"]}), "/primaryKey/0", "not a field"),
        (
            json!({"fields": [{"name": "a"}], "uniqueKeys": [["a", "c"]]}),
            "/uniqueKeys/0/1",
            "not a field",
        ),
        (
            json!({"fields": [{"name": "a"}], "fieldsMatch": "fuzzy"}),
            "/fieldsMatch",
            "unknown fieldsMatch",
        ),
        (
            json!({"fields": [{"name": "a/b~c", "constraints": []}]}),
            "/fields/0/constraints",
            "must be an object",
        ),
    ];
    for (schema, pointer, message) in cases {
        let e = Schema::from_json(&schema).expect_err(&schema.to_string());
        assert_eq!(e.pointer, pointer, "{schema}: {e}");
        assert!(e.message.contains(message), "{schema}: {e}");
    }
    let e = Schema::from_json_str("{\"fields\": [").expect_err("bad json");
    assert!(e.to_string().contains("not valid JSON"), "{e}");
}

#[test]
fn near_misses_are_errors_that_say_what_was_meant() {
    let field = |extra: serde_json::Value| {
        let mut f = json!({"name": "a", "type": "integer"});
        for (k, v) in extra.as_object().expect("object") {
            f[k] = v.clone();
        }
        json!({ "fields": [f] })
    };
    let cases = [
        (
            field(json!({"constraints": {"min": 0}})),
            "/fields/0/constraints/min",
            "did you mean `minimum`?",
        ),
        (
            field(json!({"constraints": {"max": 9}})),
            "/fields/0/constraints/max",
            "did you mean `maximum`?",
        ),
        (
            field(json!({"constraints": {"regex": "x"}})),
            "/fields/0/constraints/regex",
            "did you mean `pattern`?",
        ),
        (
            field(json!({"constraints": {"maximun": 9}})),
            "/fields/0/constraints/maximun",
            "did you mean `maximum`?",
        ),
        (
            field(json!({"constraints": {"frobnicate": 1}})),
            "/fields/0/constraints/frobnicate",
            "the constraints are required, unique",
        ),
        (
            field(json!({"constraints": {"required": "yes"}})),
            "/fields/0/constraints/required",
            "must be true or false",
        ),
        (
            field(json!({"required": true})),
            "/fields/0/required",
            "did you mean `required` inside `constraints`?",
        ),
        (field(json!({"contraints": {}})), "/fields/0/contraints", "did you mean `constraints`?"),
        (
            field(json!({"decimal_char": ","})),
            "/fields/0/decimal_char",
            "did you mean `decimalChar`?",
        ),
        (json!({"fields": [], "primary_key": "a"}), "/primary_key", "did you mean `primaryKey`?"),
        (
            json!({"fields": [], "missing_values": ["NA"]}),
            "/missing_values",
            "did you mean `missingValues`?",
        ),
    ];
    for (schema, pointer, message) in cases {
        let e = Schema::from_json(&schema).expect_err(&schema.to_string());
        assert_eq!(e.pointer, pointer, "{schema}: {e}");
        assert!(e.message.contains(message), "{schema}: {e}");
    }
    // Extensions stay allowed where Table Schema allows them.
    let ok = field(
        json!({"unit": "kg", "x-observed": {"minimum": 0}, "constraints": {"x-soft-max": 9}}),
    );
    Schema::from_json(&ok).expect("extensions");
}

#[test]
fn unknown_properties_are_kept() {
    let doc = json!({
        "fields": [{
            "name": "a", "type": "integer", "title": "A", "x-unit": "kg", "role": "feature", "pii": "quasi",
            "protect": "generalize", "constraints": {"minimum": 0, "x-custom": 1}
        }],
        "foreignKeys": [],
        "x-owner": "data team"
    });
    let s = Schema::from_json(&doc).expect("valid");
    assert_eq!(s.to_json(), doc);
}

#[test]
fn pii_in_a_composite_key_is_masked_too() {
    let schema = json!({
        "fields": [{"name": "email", "type": "string", "pii": "email"}, {"name": "day", "type": "date"}],
        "uniqueKeys": [["email", "day"]]
    });
    let r = run(schema, "email,day\nann@x.org,2024-01-01\nann@x.org,2024-01-01\n");
    assert_eq!(r.findings.len(), 1);
    assert_eq!(r.findings[0].value.as_deref(), Some("xxx@x.xxx, 2024-01-01"));
    assert!(!r.to_json().contains("ann@"));
}

#[test]
fn ambiguous_delimiters_are_refused() {
    let schema = Schema::from_json(&json!({"fields": [{"name": "a"}]})).expect("schema");
    for d in [b'"', b'\n', b'\r'] {
        let opts = ValidateOptions { delimiter: d, ..ValidateOptions::default() };
        assert!(validate_reader(&b"a\n1\n"[..], "t.csv", &schema, &opts).is_err());
    }
    let opts = ValidateOptions { delimiter: b';', ..ValidateOptions::default() };
    let r = validate_reader(&b"a\n1;2\n"[..], "t.csv", &schema, &opts).expect("runs");
    assert_eq!(r.findings[0].check, "csv.ragged-row");
}

/// A visit sees every record whose cells are text, once, in file order and with the
/// header's width, whatever the number of workers; the report is the same as without it;
/// a record that is not UTF-8 is left to validation, and an error of `take` is returned.
#[test]
fn a_visit_sees_every_record_once_in_file_order() {
    use mlguard_data::{Records, Visit, validate_reader_visiting};
    let schema =
        Schema::from_json(&json!({"fields": [{"name": "n", "type": "integer"}]})).expect("schema");
    let mut csv = b"n,extra\n".to_vec();
    for i in 0..20_000u32 {
        if i == 777 {
            csv.extend_from_slice(b"\xff\xfe,x\n");
        } else if i % 1000 == 5 {
            csv.extend_from_slice(format!("{i},\"two\nlines\",ragged\n").as_bytes());
        } else {
            csv.extend_from_slice(format!("{i},e{i}\n").as_bytes());
        }
    }
    let batch = |header: &[String], records: Records<'_>, out: &mut Vec<u8>| {
        assert_eq!(header, ["n", "extra"]);
        records.for_each(|line, fields| {
            assert_eq!(fields.len(), 2);
            out.extend_from_slice(format!("{line}:{}|", fields.join(",")).as_bytes());
        });
    };
    let plain = |threads| {
        let opts = ValidateOptions { max_errors: 1000, threads, ..ValidateOptions::default() };
        validate_reader(&csv[..], "t.csv", &schema, &opts).expect("runs")
    };
    for threads in [1, 2, 3] {
        let opts = ValidateOptions { max_errors: 1000, threads, ..ValidateOptions::default() };
        let mut seen = Vec::new();
        let mut take = |b: &[u8]| {
            seen.extend_from_slice(b);
            Ok(())
        };
        let report = validate_reader_visiting(
            &csv[..],
            "t.csv",
            &schema,
            &opts,
            Some(Visit { batch: &batch, take: &mut take }),
        )
        .expect("runs");
        assert_eq!(report.to_json(), plain(threads).to_json(), "{threads} threads");
        assert!(hits(&report).contains(&("csv.invalid-utf8".into(), 780, "n".into())));
        let seen = String::from_utf8(seen).expect("text");
        let records: Vec<&str> = seen.split_terminator('|').collect();
        assert_eq!(records.len(), 19_999, "{threads} threads");
        let (mut line, mut expected) = (2u64, Vec::new());
        for i in 0..20_000u32 {
            match i {
                777 => {}
                _ if i % 1000 == 5 => expected.push(format!("{line}:{i},two\nlines")),
                _ => expected.push(format!("{line}:{i},e{i}")),
            }
            line += if i % 1000 == 5 { 2 } else { 1 };
        }
        assert_eq!(records, expected, "{threads} threads");
    }
    for threads in [1, 2] {
        let opts = ValidateOptions { threads, ..ValidateOptions::default() };
        let mut calls = 0;
        let mut take = |_: &[u8]| {
            calls += 1;
            Err(std::io::Error::other("disk full"))
        };
        let e = validate_reader_visiting(
            &csv[..],
            "t.csv",
            &schema,
            &opts,
            Some(Visit { batch: &batch, take: &mut take }),
        )
        .expect_err("take failed");
        assert!(e.to_string().contains("disk full"), "{e}");
        assert_eq!(calls, 1, "not called after an error");
    }
}
