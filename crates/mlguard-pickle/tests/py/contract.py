#!/usr/bin/env python3
"""Reference check of mlguard against CPython: the contract the Rust differential test applies.

Usage:
  contract.py OUTDIR/expected.jsonl MLGUARD.jsonl [--strict]   check mlguard's answers
  contract.py OUTDIR/expected.jsonl --self-test       check the checker on CPython's own answers

MLGUARD.jsonl: one line per case (any order), what `analyze(bytes, &[])` gives for the file:
  {"case": "case_00042.pkl",
   "imports": [{"module": "os", "name": "system", "called": true}, ...],   # Analysis.imports
   "issues": 2}                                                            # Analysis.issues.len()
`imports` are the top-level imports only (not Analysis.nested), in order.

The contract (reference R = expected["c"]; when the line also has "c_reuse", matching either
one is enough, since the two loaders differ there):
  G      = [(module, name) for every ["global", module, name] in R.events]
  CALLED = {k for every ["call", k] in R.events if k >= 0}
  M      = [(module, name) of mlguard's imports];  MC = {j | imports[j].called}
  R.error is null:  M == G  and  MC == CALLED
  R.error not null: M[:len(G)] == G  and  CALLED <= MC  and
                    issues >= 1 if R.error_class == "stream" (or always, with --strict)
"""

import json
import sys
from collections import Counter


def reference(result):
    g = [(e[1], e[2]) for e in result["events"] if e[0] == "global"]
    called = {e[1] for e in result["events"] if e[0] == "call" and e[1] >= 0}
    return g, called


STRICT = False
REASONS = [("globals differ", "globals differ (clean load)"),
           ("called differ", "called set differs (clean load)"),
           ("cpython's globals", "cpython's globals not a prefix"),
           ("called by cpython", "a global cpython calls is not marked called"),
           ("cpython fails", "cpython fails but no issue")]


def check_one(result, actual):
    """Problems of mlguard's `actual` against one CPython RESULT (empty list: it passes)."""
    g, called = reference(result)
    m = [(i["module"], i["name"]) for i in actual["imports"]]
    mc = {j for j, i in enumerate(actual["imports"]) if i["called"]}
    problems = []
    if result["error"] is None:
        if m != g:
            problems.append("globals differ: cpython %s, mlguard %s" % (g, m))
        if mc != called:
            problems.append("called differ: cpython %s, mlguard %s" % (sorted(called), sorted(mc)))
    else:
        if m[:len(g)] != g:
            problems.append("cpython's globals %s are not a prefix of mlguard's %s" % (g, m))
        if not called <= mc:
            problems.append("called by cpython but not marked: %s" % sorted(called - mc))
        if actual["issues"] < 1 and (STRICT or result["error_class"] == "stream"):
            problems.append("cpython fails (%s) but mlguard reports no issue" % result["error"])
    return problems


def check(expected, actual):
    problems = check_one(expected["c"], actual)
    if problems and "c_reuse" in expected and not check_one(expected["c_reuse"], actual):
        return []
    return problems


def perfect(result):
    """What a perfect mlguard would answer, built from a CPython RESULT."""
    g, called = reference(result)
    return {"imports": [{"module": mo, "name": na, "called": k in called}
                        for k, (mo, na) in enumerate(g)],
            "issues": 0 if result["error"] is None else 1}


def main():
    global STRICT
    if "--strict" in sys.argv:
        STRICT = True
        sys.argv.remove("--strict")
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    expected = [json.loads(line) for line in open(sys.argv[1], encoding="utf-8")]
    if sys.argv[2] == "--self-test":
        bad = 0
        for e in expected:
            bad += bool(check(e, perfect(e["c"])))
        caught = Counter()
        for e in expected:
            p = perfect(e["c"])
            if p["imports"]:
                caught["dropped global"] += bool(check(e, dict(p, imports=p["imports"][1:])))
                flipped = [dict(i, called=not i["called"]) if k == 0 else i
                           for k, i in enumerate(p["imports"])]
                caught["flipped called"] += bool(check(e, dict(p, imports=flipped)))
            if e["c"]["error"] is not None:
                caught["no issue on error"] += bool(check(e, dict(p, issues=0)))
        print("perfect answers failing: %d of %d (must be 0)" % (bad, len(expected)))
        print("mutated answers caught:", dict(caught))
        sys.exit(1 if bad else 0)
    actual = {}
    for line in open(sys.argv[2], encoding="utf-8"):
        a = json.loads(line)
        actual[a["case"]] = a
    failures = Counter()
    reasons = Counter()
    shown = Counter()
    for e in expected:
        a = actual.get(e["case"])
        if a is None:
            failures["(missing answer)"] += 1
            continue
        problems = check(e, a)
        if problems:
            failures[e["kind"]] += 1
            for p in problems:
                reasons[next(label for prefix, label in REASONS if p.startswith(prefix))] += 1
            if shown[e["kind"]] < 2:
                shown[e["kind"]] += 1
                print("%s [%s]: %s" % (e["case"], e["kind"], "; ".join(problems)[:400]))
    total = sum(failures.values())
    print("\n%d of %d cases break the contract %s" % (total, len(expected), dict(failures.most_common())))
    print("by reason:", dict(reasons.most_common()))
    sys.exit(1 if total else 0)


if __name__ == "__main__":
    main()
