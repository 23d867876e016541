"""Scores code auditors on mlguard's labelled flaw/secure corpus.

The corpus is crates/mlguard-pyaudit/tests/fixtures: every flawed case is a line ending in
`# expect: CODE[, CODE]`; every secure counterpart is a top-level function (or `async def`) or class whose
name starts with `secure`, `strong`, `cache_key`, `ordinary` or `shadowed`, or the class
`Sealer`, and must get no finding at all.

    python3 scan_code_corpus.py FIXTURES TOOL RESULTS.json

TOOL is mlguard (its --format json), bandit (-f json) or ruff (--output-format json).
Prints one line: cases, detected, recall, secure regions, regions with a finding.
A mlguard case counts as detected only when every expected rule is reported on its line;
a peer's case counts when the peer reports anything on that line (generous to peers).
"""
import json
import os
import re
import sys

SECURE = re.compile(r"^(async def|def|class) (secure\w*|strong\w*|cache_key|ordinary\w*|shadowed|Sealer)\b")
TOP = re.compile(r"^(def|class|@|[A-Za-z_])")


def corpus(root):
    cases, regions = [], []
    for name in sorted(os.listdir(root)):
        if not name.endswith(".py") or name == "seed_flawed.py":
            continue
        lines = open(os.path.join(root, name), encoding="utf-8").read().splitlines()
        start = None
        for i, line in enumerate(lines, 1):
            m = re.search(r"# expect: (.*)$", line)
            if m:
                cases.append((name, i, {c.strip() for c in m.group(1).split(",")}))
            if start is not None and TOP.match(line) and not SECURE.match(line):
                regions.append((name, start, i - 1))
                start = None
            if SECURE.match(line):
                if start is not None:
                    regions.append((name, start, i - 1))
                start = i
        if start is not None:
            regions.append((name, start, len(lines)))
    return cases, regions


def findings(tool, path):
    data = json.load(open(path, encoding="utf-8"))
    out = []
    if tool == "mlguard":
        for f in data["findings"]:
            loc = f["location"]
            out.append((os.path.basename(loc["file"]), loc.get("line", 0), f["check"]))
    elif tool == "bandit":
        for r in data["results"]:
            out.append((os.path.basename(r["filename"]), r["line_number"], r["test_id"]))
    elif tool == "ruff":
        for r in data:
            out.append((os.path.basename(r["filename"]), r["location"]["row"], r["code"]))
    return out


def main():
    root, tool, results = sys.argv[1:4]
    cases, regions = corpus(root)
    found = findings(tool, results)
    detected = 0
    for name, line, codes in cases:
        got = {c for (f, l, c) in found if f == name and l == line}
        if (codes <= got) if tool == "mlguard" else bool(got):
            detected += 1
    noisy = sum(1 for (name, a, b) in regions if any(f == name and a <= l <= b for (f, l, _) in found))
    print(f"{tool:8} cases {len(cases)}  detected {detected}  recall {100 * detected / len(cases):.1f} %  "
          f"secure regions {len(regions)}  with a finding {noisy}")


if __name__ == "__main__":
    main()
