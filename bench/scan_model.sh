#!/usr/bin/env bash
# Benchmark: mlguard scan model against picklescan, modelscan and fickling on a labelled
# corpus generated with Python (bench/scan_model_corpus.py), by hand (not CI). Prints each
# tool's verdict per file (detected / flagged), and wall time, MB/s and peak RSS on the two
# ~200 MB benign files (a NumPy blob, and a 20-million-float list = 20M opcodes).
#
#   bench/scan_model.sh
#
# Installs the peers into bench/.venv-scan on first use; writes files to bench/out/scan.
# Goal (issue 5): every malicious file detected, no benign file flagged, >= 10x picklescan's
# speed on the opcode-heavy file and at least its speed on the blob-heavy one, memory that
# does not grow with the opcode count.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
venv="$here/.venv-scan"
out="$here/out/scan"
if ! "$venv/bin/python" -c "import fickling, joblib" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check numpy joblib picklescan modelscan fickling typing_extensions
fi
cargo build --release --quiet --manifest-path "$root/Cargo.toml" -p mlguard-cli
mlguard="$root/target/release/mlguard"
[ -f "$out/benign_float_list_20m.pkl" ] && [ -f "$out/benign_joblib_gzip.joblib" ] || "$venv/bin/python" "$here/scan_model_corpus.py" "$out"

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
cd "$out"
tools=(mlguard picklescan modelscan fickling)
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
