#!/usr/bin/env bash
# Benchmark: the whole secure pipeline on one generated 1M-row user_data.csv, by hand (not
# CI). The Python peer (../shared/bench/seed_pipeline.py: pandas + scikit-learn + Fernet,
# validate -> drop PII -> split -> scale/one-hot -> LogisticRegression -> pickle -> encrypt
# -> verify -> score) against mlguard's equivalent: data ingest (validate + seal) -> train
# (verify + decrypt + fit + seal) -> model verify -> predict (verify + validate + score).
# Prints wall seconds, peak RSS and accuracy of each, and the ratios.
#
#   bench/pipeline.sh [ROWS]        default: 1000000
#
# Installs numpy, pandas, scikit-learn and cryptography into bench/.venv on first use.
# Goal (issue 4): >= 10x faster end to end, <= 1/5 of the peer's peak RSS, accuracy
# within 0.3 points.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
shared="${MLGUARD_SHARED:-$root/../shared}"
rows="${1:-1000000}"
venv="$here/.venv"
out="$here/out/pipeline"
mkdir -p "$out"
if [ ! -x "$venv/bin/python" ]; then python3 -m venv "$venv"; fi
"$venv/bin/python" -c 'import numpy, pandas, sklearn, cryptography' 2>/dev/null ||
  "$venv/bin/pip" install --quiet --disable-pip-version-check numpy pandas scikit-learn cryptography
py="$venv/bin/python"
cargo build --release --quiet --manifest-path "$root/Cargo.toml" -p mlguard-cli
mlguard="$root/target/release/mlguard"
data="$here/out/user_data_$rows.csv"
[ -f "$data" ] || "$py" "$shared/bench/gen_user_data.py" --rows "$rows" --out "$data" >&2

# Runs a command under /usr/bin/time -v, stdout to $2; prints "wall_seconds peak_rss_kib".
measure() {
  local log="$out/time.log" dest=$1
  shift
  /usr/bin/time -v "$@" > "$dest" 2> "$log" || { cat "$log" >&2; exit 1; }
  awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i]; w = s}
              /Maximum resident set size/ {r = $2} END {print w, r}' "$log"
}

echo "python peer..." >&2
read -r pw pr < <(measure "$out/peer.json" "$py" "$shared/bench/seed_pipeline.py" --data "$data")
pacc=$("$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))["accuracy"])' "$out/peer.json")

echo "mlguard..." >&2
rm -rf "$out/vault" "$out/key"
"$mlguard" init --vault "$out/vault" --key-file "$out/key" > /dev/null
export MLGUARD_VAULT="$out/vault" MLGUARD_KEY_FILE="$out/key"
# The schema a user would keep (bench_schema.py).
"$mlguard" data infer-schema "$data" --target label -o "$out/draft.json" --force 2> /dev/null
"$py" "$here/bench_schema.py" "$out/draft.json" "$out/schema.json"
total_w=0 max_r=0
step() { # name, command...
  local name=$1
  shift
  read -r w r < <(measure "$out/$name.out" "$@")
  printf '  %-8s %7.2f s %8.1f MiB\n' "$name" "$w" "$(awk -v r="$r" 'BEGIN {print r / 1024}')" >&2
  total_w=$(awk -v a="$total_w" -v b="$w" 'BEGIN {print a + b}')
  max_r=$(awk -v a="$max_r" -v b="$r" 'BEGIN {print (a > b ? a : b)}')
}
step ingest "$mlguard" data ingest "$data" --schema "$out/schema.json" --name users
step train "$mlguard" train --dataset users --name churn --json
step verify "$mlguard" model verify churn
step predict "$mlguard" predict --model churn "$data" -o "$out/predictions.csv" --force
macc=$("$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))["metrics"]["accuracy"])' "$out/train.out")

printf '\n%s rows\n%-24s %10s %12s %10s\n' "$rows" tool wall_s peak_MiB accuracy
printf '%-24s %10.2f %12.1f %10.4f\n' "python peer (Fernet)" "$pw" "$(awk -v r="$pr" 'BEGIN {print r / 1024}')" "$pacc"
printf '%-24s %10.2f %12.1f %10.4f\n' "mlguard" "$total_w" "$(awk -v r="$max_r" 'BEGIN {print r / 1024}')" "$macc"
awk -v pw="$pw" -v mw="$total_w" -v pr="$pr" -v mr="$max_r" -v pa="$pacc" -v ma="$macc" 'BEGIN {
  printf "ratios: %.1fx faster, %.1fx less peak memory, accuracy difference %.2f points\n", pw / mw, pr / mr, (ma - pa) * 100
}'
