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
        memory_limit: mlguard_learn::DEFAULT_MEMORY_LIMIT,
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
        t.split.train.iter().map(|&i| original(i as usize)).collect();
    assert!(t.split.test.iter().all(|&i| !train_rows.contains(&original(i as usize))));
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
        mlguard_learn::train_columnar(&form[..], &schema, &opts(5), None).expect("columns");
    assert_eq!(from_csv.split, from_columns.split);
    assert_eq!(from_csv.model.logistic, from_columns.model.logistic);
    assert_eq!(from_csv.model.info.encoding, from_columns.model.info.encoding);
    assert_eq!(from_csv.notes, from_columns.notes);

    let text = String::from_utf8(csv.clone()).expect("utf-8");
    let (header, body) = text.split_once('\n').expect("header");
    let doubled = format!("{header}\n{body}{body}");
    let mut form = Vec::new();
    mlguard_data::columnar::write(doubled.as_bytes(), &schema, &mut form).expect("columnar");
    let t = mlguard_learn::train_columnar(&form[..], &schema, &opts(6), None).expect("columns");
    let rows = body.lines().count();
    let train_rows: std::collections::HashSet<usize> =
        t.split.train.iter().map(|&i| i as usize % rows).collect();
    assert!(t.split.test.iter().all(|&i| !train_rows.contains(&(i as usize % rows))));
    // A damaged form is an error.
    assert!(
        mlguard_learn::train_columnar(&form[..form.len() / 2], &schema, &opts(6), None).is_err()
    );
}

/// A table whose features are spilled (a memory limit far below its size) trains the same
/// model as one held in memory: the same split, notes, encoding, weights to the bit and
/// metrics; for two classes and for three, with missing values, copies of rows and rows
/// without a label, warm-started or not.
#[test]
fn a_spilled_fit_is_the_fit_in_memory() {
    use mlguard_learn::MemorySpill;
    let csv = user_data(14_000, 11); // chunks of the fit longer than a tile
    let text = String::from_utf8(csv.clone()).expect("utf-8");
    let (header, body) = text.split_once('\n').expect("header");
    let lines: Vec<&str> = body.lines().collect();
    // Copies of rows, one row without a label, a missing number (the label is the last
    // column of the generated data; income a middle one).
    let mut edited: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
    edited.extend(lines[..500].iter().map(|l| (*l).to_owned()));
    if let Some(l) = edited.get_mut(3) {
        let mut cells: Vec<&str> = l.split(',').collect();
        cells.pop();
        *l = format!("{},", cells.join(","));
    }
    for l in edited.iter_mut().skip(10).step_by(97) {
        let mut cells: Vec<&str> = l.split(',').collect();
        cells[8] = "";
        *l = cells.join(",");
    }
    let table = format!("{header}\n{}\n", edited.join("\n"));
    let mut schema = protected(schema_for(table.as_bytes()));
    let mut form = Vec::new();
    mlguard_data::columnar::write(table.as_bytes(), &schema, &mut form).expect("columnar");
    let check = |schema: &Schema, form: &[u8], opts: &TrainOptions| {
        let held = mlguard_learn::train_columnar(form, schema, opts, None).expect("in memory");
        let spilled_opts = TrainOptions { memory_limit: 1 << 10, ..opts.clone() };
        let spilled =
            mlguard_learn::train_columnar(form, schema, &spilled_opts, Some(&MemorySpill))
                .expect("spilled");
        assert_eq!(held.split, spilled.split);
        assert_eq!(held.notes, spilled.notes);
        assert_eq!(held.model.info.encoding, spilled.model.info.encoding);
        assert_eq!(held.model.logistic, spilled.model.logistic);
        assert_eq!(
            serde_json::to_string(&held.model.info.metrics).expect("json"),
            serde_json::to_string(&spilled.model.info.metrics).expect("json")
        );
        // No spill files given: held in memory whatever the limit.
        let unspilled =
            mlguard_learn::train_columnar(form, schema, &spilled_opts, None).expect("no spill");
        assert_eq!(held.model.logistic, unspilled.model.logistic);
        held
    };
    let t = check(&schema, &form, &opts(12));
    assert!(t.notes.iter().any(|n| n.contains("without a label")), "{:?}", t.notes);
    assert!(t.notes.iter().any(|n| n.contains("repeat another row")), "{:?}", t.notes);
    // Warm-started: more than eight times the warm start's sample (65,536 rows) is too many
    // for a test; a cold fit and a three-class target cover the rest of the arithmetic.
    let cold =
        TrainOptions { fit: FitOptions { warm_start: false, ..FitOptions::default() }, ..opts(13) };
    check(&schema, &form, &cold);
    // Three classes: the plan, a categorical column, as the target.
    let plan = schema.fields.iter().position(|f| f.name == "plan").expect("a plan column");
    schema.fields[plan].role = Some(mlguard_data::Role::Target);
    let label = schema.fields.iter().position(|f| f.name == "label").expect("label");
    schema.fields[label].role = None;
    let three = check(&schema, &form, &opts(14));
    assert!(three.model.info.encoding.classes.len() >= 3);
}
