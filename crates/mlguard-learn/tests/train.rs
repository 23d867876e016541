//! Training end to end on generated user data.

use mlguard_data::{InferOptions, Protect, Schema, infer_reader, synth};
use mlguard_learn::{FitOptions, Model, TrainError, TrainOptions, evaluate, train};

fn user_data(rows: u64, seed: u64) -> Vec<u8> {
    let mut csv = Vec::new();
    synth::write_user_data(&mut csv, rows, seed).expect("generate");
    csv
}

fn schema_for(csv: &[u8]) -> Schema {
    infer_reader(csv, &InferOptions::default()).expect("infer").schema
}

fn opts(seed: u8) -> TrainOptions {
    TrainOptions {
        target: None,
        test_size: 0.2,
        fit: FitOptions::default(),
        seed: [seed; 32],
        delimiter: b',',
        group_duplicates: true,
        expected_rows: 0,
    }
}

fn protected(mut schema: Schema) -> Schema {
    for f in &mut schema.fields {
        if f.pii.is_some() {
            f.protect = Some(Protect::Drop);
        }
    }
    schema
}

#[test]
fn personal_data_must_be_protected() {
    let csv = user_data(300, 1);
    // The draft proposes a protection for each personal-data field; without them, training
    // refuses (quasi-identifiers such as age are features).
    let mut schema = schema_for(&csv);
    for f in &mut schema.fields {
        f.protect = None;
    }
    let err = train(&csv[..], &schema, &opts(1)).expect_err("pii");
    let msg = err.to_string();
    let expected = ["full_name", "email", "phone", "ssn", "date_of_birth", "zip_code"];
    assert!(matches!(&err, TrainError::UnprotectedPii(cols) if cols == &expected), "{msg}");
    assert!(msg.contains("full_name, email"), "the message names the columns: {msg}");
}

#[test]
fn trains_accurately_and_reproducibly() {
    let csv = user_data(20_000, 2);
    let schema = protected(schema_for(&csv));
    let t = train(&csv[..], &schema, &opts(7)).expect("train");
    assert_eq!((t.train_rows, t.test_rows), (16_000, 4_000));
    let m = &t.model;
    assert!(m.logistic.converged, "{} iterations", m.logistic.iterations);
    assert_eq!(m.info.encoding.classes, vec!["0", "1"]);
    assert_eq!(m.info.encoding.numeric.len(), 20);
    let cats: Vec<&str> = m.info.encoding.categorical.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(cats, vec!["region", "plan"]);
    // The generator's Bayes limit is about 0.89.
    assert!(m.info.metrics.accuracy > 0.85, "accuracy {}", m.info.metrics.accuracy);
    assert!(m.info.metrics.roc_auc > 0.9, "auc {}", m.info.metrics.roc_auc);

    // Same seed, same data: bit-identical weights. Another seed: another split.
    let again = train(&csv[..], &schema, &opts(7)).expect("train");
    assert_eq!(again.model.logistic.weights, m.logistic.weights);
    let other = train(&csv[..], &schema, &opts(8)).expect("train");
    assert_ne!(other.model.logistic.weights, m.logistic.weights);

    // Safetensors round trip, and the predictor reproduces the held-out metrics.
    let bytes = m.to_safetensors();
    let back = Model::from_safetensors(&bytes).expect("reads back");
    assert_eq!(&back, m);
    let predictor = back.predictor().expect("predictor");
    let text = String::from_utf8(csv.clone()).expect("utf8");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    let label = header.iter().position(|h| *h == "label").expect("label");
    let mut proba = Vec::new();
    let mut ys = Vec::new();
    for r in &rows {
        let p = predictor.predict(|name| header.iter().position(|h| *h == name).map(|i| r[i]));
        proba.extend(p);
        ys.push(r[label].parse::<u32>().expect("label"));
    }
    let all = evaluate(&ys, &proba, 2);
    assert!(
        (all.accuracy - m.info.metrics.accuracy).abs() < 0.02,
        "{} vs {}",
        all.accuracy,
        m.info.metrics.accuracy
    );
}

#[test]
fn multinomial_target_and_errors() {
    let csv = user_data(3000, 3);
    let schema = protected(schema_for(&csv));
    let mut o = opts(1);
    o.target = Some("plan".into());
    let t = train(&csv[..], &schema, &o).expect("multinomial");
    assert_eq!(t.model.info.encoding.classes, vec!["basic", "enterprise", "free", "pro"]);
    assert_eq!(t.model.logistic.outputs(), 4);
    let back = Model::from_safetensors(&t.model.to_safetensors()).expect("round trip");
    assert_eq!(back.logistic.weights.len(), 4 * back.info.encoding.width());

    o.target = Some("nope".into());
    assert!(matches!(train(&csv[..], &schema, &o), Err(TrainError::UnknownTarget(_))));
    o.target = None;
    o.test_size = 1.5;
    assert!(matches!(train(&csv[..], &schema, &o), Err(TrainError::Unusable(_))));
    // A continuous target is refused before any work, never a classifier per value.
    o.test_size = 0.2;
    for (target, why) in [("income", "is a number field"), ("age", "distinct numbers")] {
        o.target = Some(target.into());
        let r = train(&csv[..], &schema, &o);
        assert!(
            matches!(&r, Err(TrainError::Unusable(m)) if m.contains(why)),
            "{target}: {:?}",
            r.map(|t| t.model.info.encoding.classes.len())
        );
    }
}

#[test]
fn tampered_model_files_are_rejected() {
    let csv = user_data(500, 4);
    let t = train(&csv[..], &protected(schema_for(&csv)), &opts(1)).expect("train");
    let bytes = t.model.to_safetensors();
    assert!(Model::from_safetensors(&bytes[..bytes.len() - 1]).is_err(), "truncated");
    let mut extra = bytes.clone();
    extra.push(0);
    assert!(Model::from_safetensors(&extra).is_err(), "trailing byte");
    assert!(Model::from_safetensors(b"not a model").is_err());
}

/// Every row three times (the same rows appended again): no copy of a training row is in
/// the test part, and the split says so.
#[test]
fn copies_of_a_row_stay_on_one_side_of_the_split() {
    let csv = user_data(1_000, 3);
    let text = String::from_utf8(csv.clone()).expect("utf-8");
    let (header, body) = text.split_once('\n').expect("header");
    let tripled = format!("{header}\n{body}{body}{body}");
    let schema = protected(schema_for(&csv));
    // user_id makes every row distinct: it is an id, and ids are no features.
    let t = train(tripled.as_bytes(), &schema, &opts(9)).expect("train");
    assert_eq!(t.train_rows + t.test_rows, 3_000);
    assert!(t.notes.iter().any(|n| n.contains("2000 row(s) repeat")), "{:?}", t.notes);
    let rows: Vec<&str> = body.lines().collect();
    let original = |i: usize| i % rows.len();
    let train_rows: std::collections::HashSet<usize> =
        t.split.train.iter().map(|&i| original(i)).collect();
    assert!(t.split.test.iter().all(|&i| !train_rows.contains(&original(i))));
    assert_eq!(t.model.info.provenance.get("split").and_then(|v| v.as_str()), Some("grouped"));
}

/// The columnar form of a table (as ingestion stores it) trains the same model as its CSV:
/// the same features, split and weights, and copies of a row still stay together.
#[test]
fn the_columnar_form_trains_the_same_model_as_the_csv() {
    let csv = user_data(3_000, 4);
    let schema = protected(schema_for(&csv));
    let mut form = Vec::new();
    mlguard_data::columnar::write(&csv[..], &schema, &mut form).expect("columnar");
    let from_csv = train(&csv[..], &schema, &opts(5)).expect("csv");
    let from_columns =
        mlguard_learn::train_columnar(&form[..], &schema, &opts(5)).expect("columns");
    assert_eq!(from_csv.split, from_columns.split);
    assert_eq!(from_csv.model.logistic, from_columns.model.logistic);
    assert_eq!(from_csv.model.info.encoding, from_columns.model.info.encoding);
    assert_eq!(from_csv.notes, from_columns.notes);

    let text = String::from_utf8(csv.clone()).expect("utf-8");
    let (header, body) = text.split_once('\n').expect("header");
    let doubled = format!("{header}\n{body}{body}");
    let mut form = Vec::new();
    mlguard_data::columnar::write(doubled.as_bytes(), &schema, &mut form).expect("columnar");
    let t = mlguard_learn::train_columnar(&form[..], &schema, &opts(6)).expect("columns");
    let rows = body.lines().count();
    let train_rows: std::collections::HashSet<usize> =
        t.split.train.iter().map(|&i| i % rows).collect();
    assert!(t.split.test.iter().all(|&i| !train_rows.contains(&(i % rows))));
    // A damaged form is an error.
    assert!(mlguard_learn::train_columnar(&form[..form.len() / 2], &schema, &opts(6)).is_err());
}
