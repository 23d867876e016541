#!/usr/bin/env python3
"""Writes the labelled corpus for bench/scan_model.sh into DIR: one malicious pickle per
technique (never loaded: these only get written) and benign files, including the two
~200 MB benign files of issue 5 (a NumPy array blob, and a list of 20 million floats),
and joblib files (plain and compressed) as joblib.dump writes them.

  scan_model_corpus.py DIR
"""
import collections
import os
import pickle
import sys

import joblib
import numpy as np


class Reduce:
    def __init__(self, fn, args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return (self.fn, self.args)


def main(out):
    os.makedirs(out, exist_ok=True)
    import builtins
    import runpy
    import subprocess
    import webbrowser
    import importlib
    import pydoc
    import operator
    malicious = {
        "os_system_p0": (pickle.dumps(Reduce(os.system, ("echo pwned",)), protocol=0)),
        "os_system_p4": (pickle.dumps(Reduce(os.system, ("echo pwned",)), protocol=4)),
        "subprocess_popen": pickle.dumps(Reduce(subprocess.Popen, (["echo", "pwned"],)), protocol=2),
        "builtins_eval": pickle.dumps(Reduce(builtins.eval, ("1+1",)), protocol=2),
        "builtins_exec": pickle.dumps(Reduce(builtins.exec, ("x=1",)), protocol=3),
        "runpy_run_code": pickle.dumps(Reduce(runpy._run_code, ("print(1)", {})), protocol=4),
        "webbrowser_open": pickle.dumps(Reduce(webbrowser.open, ("http://example.invalid",)), protocol=4),
        "importlib_import": pickle.dumps(Reduce(importlib.import_module, ("os",)), protocol=4),
        "pydoc_locate": pickle.dumps(Reduce(pydoc.locate, ("os.system",)), protocol=4),
        "operator_attrgetter": pickle.dumps(Reduce(operator.attrgetter, ("system",)), protocol=4),
        "nested_in_bytes": pickle.dumps({"payload": pickle.dumps(Reduce(os.system, ("echo pwned",)), protocol=4)}, protocol=4),
        "after_benign_prefix": pickle.dumps([np.arange(10), Reduce(os.system, ("echo pwned",))], protocol=4),
    }
    for name, data in malicious.items():
        open(os.path.join(out, f"malicious_{name}.pkl"), "wb").write(data)
    benign = {
        "dict": pickle.dumps({"a": 1, "b": [1.0, 2.0], "c": "text"}, protocol=4),
        "ordered_dict": pickle.dumps(collections.OrderedDict(w=[0.1, 0.2]), protocol=2),
        "numpy_small": pickle.dumps(np.arange(1000, dtype=np.float64), protocol=2),
        "numpy_blob_200mb": pickle.dumps(np.random.default_rng(1).random(25_000_000), protocol=4),
        "float_list_20m": pickle.dumps([float(i) for i in range(20_000_000)], protocol=4),
    }
    for name, data in benign.items():
        open(os.path.join(out, f"benign_{name}.pkl"), "wb").write(data)
    # joblib: arrays are written inline, after the pickle's wrapper object.
    evil = {"weights": np.ones((100, 10)), "hook": Reduce(os.system, ("echo pwned",))}
    model = {"weights": np.random.default_rng(2).random((1000, 100)), "names": np.array(["a", "b"]),
             "objects": np.array([{"k": 1}, "v"], dtype=object)}
    joblib.dump(evil, os.path.join(out, "malicious_joblib_after_array.joblib"))
    joblib.dump(evil, os.path.join(out, "malicious_joblib_zlib.joblib"), compress=3)
    joblib.dump(evil, os.path.join(out, "malicious_joblib_xz.joblib"), compress=("xz", 3))
    joblib.dump(np.array([Reduce(os.system, ("echo pwned",))], dtype=object),
                os.path.join(out, "malicious_joblib_object_array.joblib"))
    joblib.dump(model, os.path.join(out, "benign_joblib_arrays.joblib"))
    joblib.dump(model, os.path.join(out, "benign_joblib_gzip.joblib"), compress=("gzip", 3))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
