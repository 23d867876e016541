"""Benchmark, by hand (not CI): how a pandas DataFrame reaches mlguard — as CSV text
(`df.to_csv()`, what the package sent before) or as an Arrow IPC file (what `mlguard._table`
sends now) — timed end to end for `mlguard.validate`, twice each, side by side.

    python bench/python_frames.py bench/out/user_data_1000000.csv bench/out/ingest/schema.json

Needs a virtualenv with the package installed (`maturin develop`, as
`python/tests/pytest.rs` builds it) and pandas + pyarrow; the table and schema are the ones
`bench/ingest.sh` generates.
"""
import time, sys, pandas as pd, mlguard
df = pd.read_csv(sys.argv[1])
schema = open(sys.argv[2]).read()
for _ in range(2):
    t = time.perf_counter(); b = df.to_csv(index=False).encode(); t1 = time.perf_counter()
    r = mlguard.validate(b, schema); t2 = time.perf_counter()
    print(f"via CSV text: to_csv {t1-t:.2f} s + validate {t2-t1:.2f} s = {t2-t:.2f} s, errors {r.errors}")
    t = time.perf_counter(); b = mlguard._table(df); t1 = time.perf_counter()
    r = mlguard.validate(b, schema); t2 = time.perf_counter()
    print(f"via Arrow:    to arrow {t1-t:.2f} s + validate {t2-t1:.2f} s = {t2-t:.2f} s, errors {r.errors}")
