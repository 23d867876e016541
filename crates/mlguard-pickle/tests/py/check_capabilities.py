"""Self-check of crates/mlguard-pickle/data/capabilities.tsv (and compat_pickle.tsv).

Run with Python 3.11 (the interpreter whose sys.stdlib_module_names the file was reviewed against):

    python3 crates/mlguard-pickle/tests/py/check_capabilities.py

Checks: every data line has exactly 4 TAB-separated, non-empty fields; verdicts are from the
allowed set; module and name fields look like what a pickle can name; no duplicate
(module, name) rows; every name in sys.stdlib_module_names has a row whose module is it or a
parent; compat_pickle.tsv parses. Prints counts and exits non-zero on any failure.
"""
import collections
import os
import re
import sys

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "data")
VERDICTS = ("safe", "dangerous", "wraps", "resolves", "unknown")
MODULE_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
NAME_RE = re.compile(r"^(\*|[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*)$")


def parse(path, nfields):
    errors, rows = [], []
    with open(path, encoding="utf-8") as f:
        for no, raw in enumerate(f, 1):
            line = raw.rstrip("\n")
            if line.endswith("\r"):
                errors.append(f"{path}:{no}: CRLF line ending")
                line = line.rstrip("\r")
            if not line.strip() or line.startswith("#"):
                continue
            fields = line.split("\t")
            if len(fields) != nfields:
                errors.append(f"{path}:{no}: {len(fields)} fields, expected {nfields}: {line!r}")
                continue
            if any(not x or x != x.strip() for x in fields):
                errors.append(f"{path}:{no}: empty field or stray whitespace: {line!r}")
                continue
            rows.append((no, fields))
    return rows, errors


def main():
    caps = os.path.normpath(os.path.join(DATA, "capabilities.tsv"))
    compat = os.path.normpath(os.path.join(DATA, "compat_pickle.tsv"))
    rows, errors = parse(caps, 4)

    seen = {}
    verdicts = collections.Counter()
    star_verdicts = collections.Counter()
    for no, (module, name, verdict, reason) in rows:
        if verdict not in VERDICTS:
            errors.append(f"{caps}:{no}: verdict {verdict!r} not one of {VERDICTS}")
        if not MODULE_RE.match(module):
            errors.append(f"{caps}:{no}: module {module!r} is not a dotted name")
        if not NAME_RE.match(name):
            errors.append(f"{caps}:{no}: name {name!r} is not '*' or a (dotted) name")
        if (module, name) in seen:
            errors.append(f"{caps}:{no}: duplicate ({module}, {name}), first at line {seen[(module, name)]}")
        seen[(module, name)] = no
        verdicts[verdict] += 1
        if name == "*":
            star_verdicts[verdict] += 1
        if len(reason) < 8:
            errors.append(f"{caps}:{no}: reason too short: {reason!r}")

    modules = {m for m, _ in seen}
    missing = []
    for top in sorted(sys.stdlib_module_names):
        if top not in modules and not any(m.startswith(top + ".") for m in modules):
            missing.append(top)
        elif (top, "*") not in seen:
            # every top-level stdlib module must state a rule for names not listed
            errors.append(f"stdlib module {top!r} has rows but no `*` row")
    if missing:
        errors.append(f"stdlib modules with no row: {missing}")

    compat_rows, compat_errors = parse(compat, 4)
    errors += compat_errors
    compat_seen = set()
    for no, (om, on, nm, nn) in compat_rows:
        if (on == "*") != (nn == "*"):
            errors.append(f"{compat}:{no}: '*' must be on both sides")
        if (om, on) in compat_seen:
            errors.append(f"{compat}:{no}: duplicate ({om}, {on})")
        compat_seen.add((om, on))
        for m in (om, nm):
            if not MODULE_RE.match(m):
                errors.append(f"{compat}:{no}: module {m!r} is not a dotted name")

    stdlib_rows = sum(1 for m, _ in seen if m.split(".")[0] in sys.stdlib_module_names)
    print(f"capabilities.tsv: {len(rows)} rows, {len(modules)} modules "
          f"({len({m.split('.')[0] for m in modules})} top-level)")
    for v in VERDICTS:
        print(f"  {v:9} {verdicts[v]:5} rows ({star_verdicts[v]} of them `*` rows)")
    print(f"  standard library: {len(sys.stdlib_module_names)} top-level modules of Python "
          f"{sys.version_info.major}.{sys.version_info.minor}, {len(sys.stdlib_module_names) - len(missing)} covered, "
          f"{stdlib_rows} rows")
    print(f"compat_pickle.tsv: {len(compat_rows)} mappings "
          f"({sum(1 for _, f in compat_rows if f[1] == '*')} module renames)")
    if errors:
        print(f"FAILED: {len(errors)} problem(s)")
        for e in errors:
            print("  " + e)
        return 1
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
