#!/usr/bin/env bash
# Benchmark: mlguard scan code against bandit and `ruff check --select S`, by hand (not CI).
#
#   bench/scan_code.sh
#
# 1. Labelled corpus: crates/mlguard-pyaudit/tests/fixtures (every flawed case annotated
#    `# expect: CODE`, secure counterparts in `secure*` functions): recall and findings on
#    secure code per tool (bench/scan_code_corpus.py), and each tool on the seed program.
# 2. Real ML code: `pip download --no-deps transformers diffusers keras`, wheels unpacked;
#    lines/s (median wall time of 7 alternating runs; bandit: one run), peak RSS and
#    findings per rule for each tool.
# Installs bandit and ruff into bench/.venv-code on first use; writes to bench/out/code.
# Goal (issue 15): at least ruff's speed; recall >= 95 % on >= 150 flawed cases, no finding on
# >= 100 secure counterparts.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
venv="$here/.venv-code"
out="$here/out/code"
fixtures="$root/crates/mlguard-pyaudit/tests/fixtures"
mkdir -p "$out"
if ! [ -x "$venv/bin/bandit" ] || ! [ -x "$venv/bin/ruff" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check bandit ruff
fi
cargo build --release --quiet --manifest-path "$root/Cargo.toml" -p mlguard-cli
mlguard="$root/target/release/mlguard"
echo "versions: mlguard $("$mlguard" --version | awk '{print $2}'), $("$venv/bin/bandit" --version | head -1), ruff $("$venv/bin/ruff" --version | awk '{print $2}')"

# run NAME OUTFILE CMD...: runs CMD with stdout to OUTFILE, records "wall rss_kib" in $out/NAME.time.
run() {
  local name=$1 file=$2
  shift 2
  set +e
  /usr/bin/time -v "$@" > "$file" 2> "$out/$name.timelog"
  set -e
  awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i]; w = s}
              /Maximum resident set size/ {r = $2} END {print w, r}' "$out/$name.timelog" > "$out/$name.time"
}

echo
echo "== labelled corpus ($fixtures)"
run m-corpus "$out/mlguard-corpus.json" "$mlguard" scan code "$fixtures" --format json --fail-on critical
run b-corpus "$out/bandit-corpus.json" "$venv/bin/bandit" -q -r "$fixtures" -f json
run r-corpus "$out/ruff-corpus.json" "$venv/bin/ruff" check --no-cache --isolated --select S --output-format json "$fixtures"
python3 "$here/scan_code_corpus.py" "$fixtures" mlguard "$out/mlguard-corpus.json"
python3 "$here/scan_code_corpus.py" "$fixtures" bandit "$out/bandit-corpus.json"
python3 "$here/scan_code_corpus.py" "$fixtures" ruff "$out/ruff-corpus.json"

echo
echo "== the seed program (syntax error on line 7)"
seed="$fixtures/seed_flawed.py"
"$mlguard" scan code "$seed" --format json --fail-on critical | python3 -c 'import json,sys; d=json.load(sys.stdin); print("mlguard ", len(d["findings"]), "findings:", " ".join(sorted({f["check"]+"@"+str(f["location"].get("line")) for f in d["findings"]}, key=lambda s: int(s.split("@")[1]))))'
"$venv/bin/bandit" -q "$seed" -f json 2>/dev/null | python3 -c 'import json,sys; d=json.load(sys.stdin); print("bandit  ", len(d["results"]), "findings,", len(d["errors"]), "errors:", " ".join(r["test_id"]+"@"+str(r["line_number"]) for r in d["results"]))' || true
"$venv/bin/ruff" check --no-cache --isolated --select S --output-format json "$seed" 2>/dev/null | python3 -c 'import json,sys; d=json.load(sys.stdin); print("ruff    ", len(d), "findings:", " ".join((r["code"] or "syntax-error")+"@"+str(r["location"]["row"]) for r in d))' || true

echo
echo "== real ML code (transformers, diffusers, keras wheels)"
src="$out/src"
if [ ! -d "$src" ]; then
  mkdir -p "$out/wheels" "$src"
  "$venv/bin/pip" download --quiet --disable-pip-version-check --no-deps -d "$out/wheels" transformers diffusers keras
  for w in "$out"/wheels/*.whl; do (cd "$src" && python3 -m zipfile -e "$w" "$(basename "$w" .whl)"); done
fi
files=$(find "$src" -name '*.py' | wc -l)
lines=$(find "$src" -name '*.py' -print0 | xargs -0 cat | wc -l)
echo "$files files, $lines lines"
# The fast tools run 7 times, alternating (the median wall time is shown); bandit once.
for i in 1 2 3 4 5 6 7; do
  run mlguard "$out/mlguard.json" "$mlguard" scan code "$src" --format json --fail-on critical
  cat "$out/mlguard.time" >> "$out/mlguard.times"
  run ruff "$out/ruff.json" "$venv/bin/ruff" check --no-cache --isolated --select S --output-format json --exit-zero "$src"
  cat "$out/ruff.time" >> "$out/ruff.times"
done
for t in mlguard ruff; do
  sort -n "$out/$t.times" | awk '{w[NR] = $1; if ($2 > r) r = $2} END {print w[int((NR + 1) / 2)], r}' > "$out/$t.time"
  echo "$t wall times (s): $(awk '{printf "%s ", $1}' "$out/$t.times")"
  rm "$out/$t.times"
done
run bandit "$out/bandit.json" "$venv/bin/bandit" -q -r "$src" -f json
printf '%-8s %9s %12s %9s %9s\n' tool wall_s lines/s rss_MiB findings
for t in mlguard bandit ruff; do
  read -r wall rss < "$out/$t.time"
  n=$(python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(len(d['findings']) if sys.argv[2]=='mlguard' else len(d['results']) if sys.argv[2]=='bandit' else len(d))" "$out/$t.json" "$t")
  awk -v t="$t" -v w="$wall" -v r="$rss" -v l="$lines" -v n="$n" 'BEGIN {printf "%-8s %9.2f %12.0f %9.0f %9d\n", t, w, (w > 0 ? l / w : 0), r / 1024, n}'
done
echo
echo "findings per rule:"
python3 - "$out" <<'PY'
import collections, json, sys
out = sys.argv[1]
m = collections.Counter(f["check"] for f in json.load(open(f"{out}/mlguard.json"))["findings"])
b = collections.Counter(r["test_id"] for r in json.load(open(f"{out}/bandit.json"))["results"])
r = collections.Counter(x["code"] or "syntax-error" for x in json.load(open(f"{out}/ruff.json")))
for name, c in (("mlguard", m), ("bandit", b), ("ruff", r)):
    print(f"  {name:8}", ", ".join(f"{k} {v}" for k, v in sorted(c.items())))
PY
