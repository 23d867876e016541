"""The mlguard package on real objects: pandas DataFrames, pickles and joblib files that
the real libraries write, Python source, and the installed `mlguard` command."""
import io
import json
import os
import pickle
import subprocess
import sys

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import mlguard

SCHEMA = {
    "fields": [
        {"name": "id", "type": "integer", "constraints": {"required": True, "unique": True}},
        {"name": "email", "type": "string", "pii": "email", "protect": "pseudonymize"},
        {"name": "age", "type": "integer", "constraints": {"minimum": 0, "maximum": 120}},
        {"name": "plan", "type": "string", "constraints": {"enum": ["free", "pro"]}},
    ]
}


def frame(ages=(34, 51, 28)):
    return pd.DataFrame(
        {
            "id": [1, 2, 3],
            "email": ["ann@example.com", "bob@example.org", "cy@example.net"],
            "age": list(ages),
            "plan": ["free", "pro", "free"],
        }
    )


class Evil:
    """A pickle that runs a shell command when loaded."""

    def __reduce__(self):
        return (os.system, ("echo pwned > /dev/null",))


# -- validation -------------------------------------------------------------------------


def test_a_valid_dataframe_passes(tmp_path):
    report = mlguard.validate(frame(), SCHEMA)
    assert report.ok and report.errors == 0 and bool(report)
    assert report.stats["rows"] == 3
    # The same from a file and with the schema as a file.
    frame().to_csv(tmp_path / "users.csv", index=False)
    (tmp_path / "schema.json").write_text(json.dumps(SCHEMA))
    assert mlguard.validate(tmp_path / "users.csv", str(tmp_path / "schema.json")).ok


def test_an_invalid_dataframe_is_reported_cell_by_cell():
    report = mlguard.validate(frame(ages=(34, 151, 28)), SCHEMA)
    assert not report.ok and report.errors == 1
    (finding,) = [f for f in report if f.level == "error"]
    assert finding.location["field"] == "age" and finding.location["row"] == 2
    assert "age" in report._repr_html_()
    assert json.loads(report.to_json())["errors"] == 1
    with pytest.raises(mlguard.ValidationError) as e:
        mlguard.validate(frame(ages=(34, 151, 28)), SCHEMA, check=True)
    assert e.value.report.errors == 1
    assert isinstance(e.value, mlguard.Error)


def test_report_html_escapes_what_the_data_says():
    df = frame()
    df["plan"] = ["free", "<script>alert(1)</script>", "free"]
    html = mlguard.validate(df, SCHEMA)._repr_html_()
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_a_bad_schema_and_bad_input_raise_typed_errors(tmp_path):
    with pytest.raises(mlguard.SchemaError):
        mlguard.validate(frame(), {"fields": [{"name": "x", "type": "no-such-type"}]})
    with pytest.raises(mlguard.InputError):
        mlguard.validate(tmp_path / "missing.csv", SCHEMA)
    with pytest.raises(TypeError):
        mlguard.validate(42, SCHEMA)


def test_an_inferred_schema_validates_its_table():
    schema = mlguard.infer_schema(frame(), target="plan")
    assert [f["name"] for f in schema["fields"]] == ["id", "email", "age", "plan"]
    assert mlguard.validate(frame(), schema).ok


def test_personal_data_is_found_per_column_and_cell():
    found = mlguard.find_pii(frame())
    assert found.kinds() == {"email": ["EMAIL"]}
    assert len([c for c in found.cells if c["column"] == "email"]) == 3
    assert found.cells[0]["row"] == 1 and found.cells[0]["start"] == 0


def big_frame(rows=60_000):
    rng = np.random.default_rng(7)
    return pd.DataFrame(
        {
            "id": np.arange(1, rows + 1),
            "email": [f"user{i}@example.org" for i in range(rows)],
            "age": rng.integers(18, 90, rows),
            "plan": rng.choice(["free", "pro"], rows),
        }
    )


def test_progress_is_told_while_the_work_runs_and_at_its_end(tmp_path):
    path = tmp_path / "users.csv"
    big_frame().to_csv(path, index=False)
    size = path.stat().st_size
    calls = []
    assert mlguard.validate(path, SCHEMA, progress=lambda d, t: calls.append((d, t))).ok
    assert len(calls) >= 2, calls
    assert all(t == size for _, t in calls)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)
    assert calls[-1] == (size, size)
    # A DataFrame goes as an Arrow file: two passes of the poisoning checks over it.
    calls.clear()
    mlguard.check_poisoning(big_frame(), SCHEMA, progress=lambda d, t: calls.append((d, t)))
    sent = len(mlguard._table(big_frame()))
    assert calls[-1] == (2 * sent, 2 * sent), (calls[-1], sent)
    for work in (mlguard.find_pii, mlguard.infer_schema):
        calls.clear()
        work(path, progress=lambda d, t: calls.append((d, t)))
        assert calls[-1] == (size, size), work


def test_an_exception_in_the_progress_callback_stops_the_work_and_is_raised(tmp_path):
    path = tmp_path / "users.csv"
    big_frame().to_csv(path, index=False)

    class Stop(Exception):
        pass

    def stop(done, total):
        raise Stop(f"{done} of {total}")

    for work in (
        lambda: mlguard.validate(path, SCHEMA, progress=stop),
        lambda: mlguard.check_poisoning(path, SCHEMA, progress=stop),
        lambda: mlguard.find_pii(path, progress=stop),
    ):
        with pytest.raises(Stop):
            work()


def test_dataframes_go_as_typed_arrow_and_read_as_their_csv_would():
    df = pd.DataFrame(
        {
            "id": [1, 2, 3, 4],
            "x": [0.1, 1e-300, 2.5, float("nan")],
            "n": [1, None, 3, 4],  # an integer column with a gap: floats in pandas
            "ok": [True, False, True, True],
            "plan": pd.Categorical(["free", "pro", "free", "pro"]),
            "day": pd.to_datetime(["2024-01-02", "2024-02-03", "2024-03-04", "2024-04-05"]),
        }
    )
    assert mlguard._table(df).startswith(b"ARROW1")
    schema = mlguard.infer_schema(df)
    types = {f["name"]: f["type"] for f in schema["fields"]}
    assert types["id"] == "integer" and types["x"] == "number" and types["ok"] == "boolean"
    via_csv = mlguard.infer_schema(df.to_csv(index=False).encode())
    assert types["plan"] == {f["name"]: f["type"] for f in via_csv["fields"]}["plan"]
    strict = {
        "fields": [
            {"name": "id", "type": "integer", "constraints": {"unique": True}},
            {"name": "x", "type": "number", "constraints": {"maximum": 2.5}},
            {"name": "n", "type": "number"},
            {"name": "ok", "type": "boolean"},
            {"name": "plan", "type": "string", "constraints": {"enum": ["free", "pro"]}},
            {"name": "day", "type": "string"},
        ]
    }
    assert mlguard.validate(df, strict).ok
    # Every float digit arrives: 2.5 passes a maximum of 2.5 and 2.5000000000000004 does not.
    df.loc[2, "x"] = 2.5000000000000004
    bad = mlguard.validate(df, strict)
    assert bad.errors == 1 and bad.errors == mlguard.validate(
        df.to_csv(index=False).encode(), strict
    ).errors
    # A column Arrow cannot type goes as CSV text instead, and is read all the same.
    mixed = frame()
    mixed["plan"] = ["free", 2, "free"]
    assert not mlguard._table(mixed).startswith(b"ARROW1")
    assert mlguard.validate(mixed, SCHEMA).errors == 1


def test_anything_with_an_arrow_c_stream_is_taken_as_arrow():
    """The Arrow PyCapsule interface: an object of no library mlguard knows that exports
    an Arrow C stream (as DuckDB results and nanoarrow arrays do) is validated as the
    DataFrame it came from; pyarrow batches and readers too."""
    import pyarrow as pa

    df = frame()
    table = pa.Table.from_pandas(df, preserve_index=False)

    class Producer:
        def __init__(self, table):
            self._table = table

        def __arrow_c_stream__(self, requested_schema=None):
            return self._table.__arrow_c_stream__(requested_schema)

    want = mlguard.validate(df, SCHEMA)
    makers = [
        lambda: Producer(table),
        lambda: table.to_batches()[0],
        # A reader is read once: a fresh one per call.
        lambda: pa.RecordBatchReader.from_batches(table.schema, table.to_batches()),
    ]
    for make in makers:
        data = make()
        assert mlguard._table(make()).startswith(b"ARROW1")
        got = mlguard.validate(data, SCHEMA)
        assert [str(f) for f in got] == [str(f) for f in want], type(data).__name__
    with pytest.raises(TypeError, match="__arrow_c_stream__"):
        mlguard.validate(object(), SCHEMA)


# -- models -----------------------------------------------------------------------------


def test_safe_load_refuses_a_malicious_pickle_and_never_runs_it(tmp_path):
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(Evil()))
    with pytest.raises(mlguard.UnsafeModelError) as e:
        mlguard.safe_load(path)
    assert "os.system" in str(e.value) or "posix.system" in str(e.value)
    assert not e.value.report.ok and e.value.report.failing
    assert not mlguard.scan_model(path).ok


def test_safe_load_loads_a_benign_scikit_learn_model(tmp_path):
    X = np.array([[0.0], [1.0], [2.0], [3.0]])
    model = LogisticRegression().fit(X, [0, 0, 1, 1])
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(model))
    loaded = mlguard.safe_load(path, allow=["sklearn.*", "numpy.*"])
    assert (loaded.predict(X) == model.predict(X)).all()


def test_joblib_files_malicious_and_benign(tmp_path):
    bad, good = tmp_path / "bad.joblib", tmp_path / "good.joblib"
    joblib.dump({"step": Evil()}, bad)
    joblib.dump({"weights": np.arange(10.0)}, good)
    with pytest.raises(mlguard.UnsafeModelError):
        mlguard.safe_load(bad, loader="joblib")
    loaded = mlguard.safe_load(good, loader="joblib")
    assert (loaded["weights"] == np.arange(10.0)).all()


def test_numpy_files_load_and_a_pickled_object_array_is_refused(tmp_path):
    np.save(tmp_path / "a.npy", np.arange(6).reshape(2, 3))
    np.savez(tmp_path / "b.npz", x=np.ones(3), y=np.zeros(2))
    assert (mlguard.safe_load(tmp_path / "a.npy", loader="numpy") == np.arange(6).reshape(2, 3)).all()
    assert (mlguard.safe_load(tmp_path / "b.npz", loader="numpy")["x"] == 1).all()
    np.save(tmp_path / "c.npy", np.array([Evil()], dtype=object), allow_pickle=True)
    with pytest.raises(mlguard.UnsafeModelError):
        mlguard.safe_load(tmp_path / "c.npy", loader="numpy", allow_pickle=True)


def test_scan_model_reads_bytes_and_an_unknown_loader_is_refused(tmp_path):
    report = mlguard.scan_model(pickle.dumps(Evil()), name="x.pkl")
    assert not report.ok and report.stats["files"] == 1
    with pytest.raises(ValueError):
        mlguard.safe_load(tmp_path / "x", loader="yaml")
    with pytest.raises(ValueError):
        mlguard.scan_model(b"", name="x.pkl", fail_on="severe")


# -- code -------------------------------------------------------------------------------

FLAWED = """import pickle
import pandas as pd

def load(path):
    with open(path, "rb") as f:
        return pickle.load(f)
"""


def test_scan_code_finds_unsafe_loading_in_source_and_files(tmp_path):
    report = mlguard.scan_code(FLAWED)
    assert not report.ok
    assert any(f.location.get("line") == 6 for f in report.failing)
    (tmp_path / "train.py").write_text(FLAWED)
    assert not mlguard.scan_code(tmp_path / "train.py").ok
    assert mlguard.scan_code("import json\nprint(json.dumps({}))\n").ok
    with pytest.raises(mlguard.UnsafeCodeError):
        mlguard.scan_code(FLAWED, check=True)


def test_scan_code_reads_notebooks(tmp_path):
    nb = {
        "cells": [{"cell_type": "code", "source": FLAWED.splitlines(True), "metadata": {}, "outputs": []}],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    (tmp_path / "nb.ipynb").write_text(json.dumps(nb))
    assert not mlguard.scan_code(tmp_path / "nb.ipynb").ok


# -- the command ------------------------------------------------------------------------


def test_the_installed_command_has_the_binarys_output_and_exit_codes(tmp_path):
    (tmp_path / "bad.pkl").write_bytes(pickle.dumps(Evil()))
    (tmp_path / "good.npy").write_bytes(b"")
    np.save(tmp_path / "good.npy", np.arange(3))
    run = lambda *a: subprocess.run(["mlguard", *a], capture_output=True, text=True)
    bad = run("scan", "model", str(tmp_path / "bad.pkl"), "--format", "json")
    assert bad.returncode == 1, bad.stderr
    assert json.loads(bad.stdout)["findings"]
    assert run("scan", "model", str(tmp_path / "good.npy")).returncode == 0
    usage = run("no-such-command")
    assert usage.returncode == 2 and "Usage" in usage.stderr
    version = run("--version")
    assert version.returncode == 0 and version.stdout.startswith("mlguard ")
    module = subprocess.run([sys.executable, "-m", "mlguard", "--version"], capture_output=True, text=True)
    assert module.stdout == version.stdout


def test_what_a_file_says_reaches_a_terminal_escaped(tmp_path):
    # A protocol-0 pickle importing a "module" whose name clears the screen.
    path = tmp_path / "evil.pkl"
    path.write_bytes(b"c\x1b[2J\xe2\x80\xaeos\nsystem\n(S'true'\ntR.")
    with pytest.raises(mlguard.UnsafeModelError) as e:
        mlguard.safe_load(path)
    text = str(e.value)
    assert "\x1b" not in text and "\u202e" not in text, text
    assert "\\u001b" in text
    assert all("\x1b" not in str(f) for f in e.value.report)


def test_polars_and_pyarrow_tables_are_validated_like_pandas():
    import polars as pl
    import pyarrow as pa

    good, bad = frame(), frame(ages=(34, 151, 28))
    for convert in (pl.from_pandas, lambda df: pa.Table.from_pandas(df, preserve_index=False)):
        assert mlguard.validate(convert(good), SCHEMA).ok
        report = mlguard.validate(convert(bad), SCHEMA)
        assert report.errors == 1 and report.findings[0].location["field"] == "age"
    assert mlguard.find_pii(pl.from_pandas(good)).kinds() == {"email": ["EMAIL"]}


def test_the_torch_loader_gets_the_scanned_bytes_with_weights_only(tmp_path, monkeypatch):
    """PyTorch does not install in CI (its Linux wheel is 514 MiB and pulls in the CUDA
    libraries; no CPU-only index is reachable), so ``torch.load`` is a stand-in here. What
    is checked is mlguard's side: the loader gets the very bytes that were scanned, with
    ``weights_only=True`` unless asked otherwise, and a refused file never reaches it.
    (The scanner's verdicts on files PyTorch wrote are tested on the public corpus.)"""
    import types
    import zipfile

    seen = []
    torch = types.ModuleType("torch")

    def load(f, **kw):
        seen.append((f.read(), kw))
        return "loaded"

    torch.load = load
    monkeypatch.setitem(sys.modules, "torch", torch)

    def torch_file(path, payload):
        # torch.save's layout: a zip holding the pickle and the format version.
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("archive/data.pkl", payload)
            z.writestr("archive/version", "3\n")
        return path

    good = torch_file(tmp_path / "good.pt", pickle.dumps({"weight": [1.0, 2.0]}, protocol=2))
    assert mlguard.safe_load(good, loader="torch") == "loaded"
    assert seen == [(good.read_bytes(), {"weights_only": True})]
    mlguard.safe_load(good, loader="torch", weights_only=False)
    assert seen[-1][1] == {"weights_only": False}
    evil = torch_file(tmp_path / "evil.pt", pickle.dumps(Evil()))
    seen.clear()
    with pytest.raises(mlguard.UnsafeModelError):
        mlguard.safe_load(evil, loader="torch")
    assert seen == []
