#!/usr/bin/env bash
# Benchmark: mlguard scan model against picklescan, modelscan and fickling, by hand (not CI).
#
# 1. The real-library corpus (crates/mlguard-pickle/tests/py/realworld.py, the same files
#    the test suite checks): files NumPy, joblib, scikit-learn, pandas, SciPy and
#    safetensors write, and copies with payloads injected as published bypasses do, plus
#    the committed PyTorch and Keras fixtures (tests/fixtures/real). Prints
#    each tool's recall (tampered files flagged) and false positives (benign files flagged),
#    overall and per family.
# 2. A generated corpus (bench/scan_model_corpus.py): one malicious pickle per technique,
#    and wall time, MB/s and peak RSS on the two ~200 MB benign files (a NumPy blob, and a
#    20-million-float list = 20M opcodes).
#
#   bench/scan_model.sh            both parts
#   bench/scan_model.sh real       part 1 only
#
# A tool "flags" a file when it exits 1 (its "issues found" code); any other exit code on a
# tampered file counts as a miss, on a benign file as not flagged (reported as err).
# Installs the peers into bench/.venv-scan on first use; writes files to bench/out/scan.
# Goal (issue 5): every malicious file detected, no benign file flagged, >= 10x picklescan's
# speed on the opcode-heavy file and at least its speed on the blob-heavy one, memory that
# does not grow with the opcode count.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
venv="$here/.venv-scan"
out="$here/out/scan"
if ! "$venv/bin/python" -c "import fickling, joblib, sklearn, pandas, scipy, safetensors" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check numpy joblib picklescan modelscan fickling typing_extensions \
    scipy scikit-learn pandas safetensors
fi
cargo build --release --quiet --manifest-path "$root/Cargo.toml" -p mlguard-cli
mlguard="$root/target/release/mlguard"

# verdict TOOL FILE -> "hit" when the tool flags the file (exit 1), "-" when not, "err" otherwise;
# also leaves "wall rss" of the run in $out/last.time.
verdict() {
  local tool=$1 file=$2 code
  local cmd
  case $tool in
    mlguard) cmd=("$mlguard" scan model "$file") ;;
    picklescan) cmd=("$venv/bin/picklescan" --path "$file") ;;
    modelscan) cmd=("$venv/bin/modelscan" -p "$file") ;;
    fickling) cmd=("$venv/bin/fickling" --check-safety "$file") ;;
  esac
  set +e
  /usr/bin/time -v "${cmd[@]}" > /dev/null 2> "$out/time.log"
  code=$?
  set -e
  awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i]; w = s}
              /Maximum resident set size/ {r = $2} END {print w, r}' "$out/time.log" > "$out/last.time"
  case $code in 0) echo "-" ;; 1) echo "hit" ;; *) echo "err$code" ;; esac
}

# fickling writes safety_results.json into the current directory: keep it in $out.
mkdir -p "$out"
cd "$out"
tools=(mlguard picklescan modelscan fickling)

# Part 1: the real-library corpus.
real="$out/real"
rm -rf "$real"
"$venv/bin/python" "$root/crates/mlguard-pickle/tests/py/realworld.py" "$real"
"$venv/bin/python" - "$real" "$root/crates/mlguard-pickle/tests/fixtures/real" > "$out/real.list" <<'PY'
import json, os, sys
real, fixtures = sys.argv[1:3]
m = json.load(open(os.path.join(real, "manifest.json")))
print("versions:", " ".join(f"{k} {v}" for k, v in sorted(m["versions"].items())), file=sys.stderr)
for f in m["files"]:
    print(f["label"], f["file"].split("/")[1], os.path.join(real, f["file"]))
# PyTorch and Keras files committed as fixtures (written by bench/model_fixtures.sh).
for f in json.load(open(os.path.join(fixtures, "manifest.json"))):
    print(f["label"], f["file"].split("/")[0], os.path.join(fixtures, f["file"]))
PY
declare -A hit total
while read -r label family file; do
  for t in "${tools[@]}"; do
    v=$(verdict "$t" "$file")
    key="$t $label"
    total[$key]=$(( ${total[$key]:-0} + 1 ))
    total["$t $label $family"]=$(( ${total["$t $label $family"]:-0} + 1 ))
    if [ "$v" = hit ]; then
      hit[$key]=$(( ${hit[$key]:-0} + 1 ))
      hit["$t $label $family"]=$(( ${hit["$t $label $family"]:-0} + 1 ))
    fi
  done
done < "$out/real.list"
families=$(awk '{print $2}' "$out/real.list" | sort -u)
echo
echo "Real-library corpus: $(grep -c '^malicious' "$out/real.list") tampered files, $(grep -c '^benign' "$out/real.list") benign files"
printf '%-11s %-22s %-22s\n' tool "recall (tampered)" "false positives (benign)"
for t in "${tools[@]}"; do
  m=${hit["$t malicious"]:-0}; mt=${total["$t malicious"]:-0}
  b=${hit["$t benign"]:-0}; bt=${total["$t benign"]:-0}
  printf '%-11s %-22s %-22s\n' "$t" "$m/$mt ($(( 100 * m / (mt > 0 ? mt : 1) )) %)" "$b/$bt ($(( 100 * b / (bt > 0 ? bt : 1) )) %)"
done
echo
printf '%-12s' family
for t in "${tools[@]}"; do printf ' %-22s' "$t recall | FP"; done
echo
for fam in $families; do
  printf '%-12s' "$fam"
  for t in "${tools[@]}"; do
    printf ' %-22s' "${hit["$t malicious $fam"]:-0}/${total["$t malicious $fam"]:-0} | ${hit["$t benign $fam"]:-0}/${total["$t benign $fam"]:-0}"
  done
  echo
done
[ "${1:-}" = real ] && exit 0

# Part 2: the generated corpus and the two large files.
[ -f "$out/benign_float_list_20m.pkl" ] && [ -f "$out/benign_joblib_gzip.joblib" ] || "$venv/bin/python" "$here/scan_model_corpus.py" "$out"
echo
printf '%-40s %-9s' file label
for t in "${tools[@]}"; do printf ' %-10s' "$t"; done
echo
declare -A misses falsepos
for f in "$out"/*.pkl "$out"/*.joblib; do
  name=$(basename "$f")
  label=benign
  [[ $name == malicious_* ]] && label=malicious
  printf '%-40s %-9s' "$name" "$label"
  for t in "${tools[@]}"; do
    v=$(verdict "$t" "$f")
    printf ' %-10s' "$v"
    if [ "$label" = malicious ] && [ "$v" != hit ]; then misses[$t]=$(( ${misses[$t]:-0} + 1 )); fi
    if [ "$label" = benign ] && [ "$v" = hit ]; then falsepos[$t]=$(( ${falsepos[$t]:-0} + 1 )); fi
    if [[ $name == benign_numpy_blob_200mb.pkl || $name == benign_float_list_20m.pkl ]]; then
      read -r w r < "$out/last.time"
      echo "$name $t $w $r $(stat -c %s "$f")" >> "$out/perf.txt.new"
    fi
  done
  echo
done
mv "$out/perf.txt.new" "$out/perf.txt"
echo
for t in "${tools[@]}"; do
  printf '%-11s missed %s malicious, flagged %s benign\n' "$t" "${misses[$t]:-0}" "${falsepos[$t]:-0}"
done
echo
printf '%-30s %-11s %8s %8s %10s\n' file tool wall_s MB/s peak_MiB
awk '{printf "%-30s %-11s %8.2f %8.0f %10.1f\n", $1, $2, $3, ($3 > 0 ? $5 / $3 / 1e6 : 0), $4 / 1024}' "$out/perf.txt"
