#!/usr/bin/env bash
# Benchmark, by hand (not CI): a table larger than the memory mlguard may use goes through
# the whole secure pipeline. mlguard's data ingest (validate, protect, poisoning checks,
# seal) -> train (verify, decrypt, fit; feature values past `--memory-limit`, 160 MiB by
# default, spilled to encrypted scratch files) -> model verify -> predict of every row, on a
# generated user_data.csv of ROWS rows. Prints wall seconds and peak RSS per step, and
# whether every step stayed within the bound (issue 19: 10M rows, 1.9 GB, <= 256 MiB).
#
#   bench/large.sh [ROWS]        default: 10000000 (needs ~6 GB of free disk)
#
# Writes to bench/out/large; the CSV is kept in bench/out for the next run.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
shared="${MLGUARD_SHARED:-$root/../shared}"
rows="${1:-10000000}"
bound_mib=256
out="$here/out/large"
rm -rf "$out"; mkdir -p "$out"
cargo build --release --quiet --manifest-path "$root/Cargo.toml" -p mlguard-cli
mlguard="$root/target/release/mlguard"
data="$here/out/user_data_$rows.csv"
venv="$here/.venv"
if [ ! -f "$data" ]; then
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/python" -c 'import numpy' 2>/dev/null ||
    "$venv/bin/pip" install --quiet --disable-pip-version-check numpy
  "$venv/bin/python" "$shared/bench/gen_user_data.py" --rows "$rows" --out "$data" >&2
fi

"$mlguard" init --vault "$out/vault" --key-file "$out/key" > /dev/null
export MLGUARD_VAULT="$out/vault" MLGUARD_KEY_FILE="$out/key"
# The schema a user would keep (bench_schema.py).
"$mlguard" data infer-schema "$data" --target label -o "$out/draft.json" --force 2> /dev/null
python3 "$here/bench_schema.py" "$out/draft.json" "$out/schema.json"

printf '%s rows, %s MB\n%-8s %9s %10s\n' "$rows" "$(( $(stat -c %s "$data") / 1000000 ))" step wall_s peak_MiB
over=0 total=0
step() { # name, command...
  local name=$1
  shift
  /usr/bin/time -v "$@" > "$out/$name.out" 2> "$out/$name.time" || { tail -20 "$out/$name.time" >&2; exit 1; }
  read -r w r < <(awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i]; w = s}
                              /Maximum resident set size/ {r = $2} END {print w, r}' "$out/$name.time")
  printf '%-8s %9.2f %10.1f\n' "$name" "$w" "$(awk -v r="$r" 'BEGIN {print r / 1024}')"
  total=$(awk -v a="$total" -v b="$w" 'BEGIN {print a + b}')
  if [ "$r" -gt $((bound_mib * 1024)) ]; then over=1; fi
}
step ingest "$mlguard" data ingest "$data" --schema "$out/schema.json" --name users
step train "$mlguard" train --dataset users --name churn --json
step verify "$mlguard" model verify churn
step predict "$mlguard" predict --model churn "$data" -o "$out/predictions.csv" --force
rm -f "$out/predictions.csv"
acc=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["metrics"]["accuracy"])' "$out/train.out")
printf 'total %.2f s, accuracy %s; every step within %s MiB: %s\n' "$total" "$acc" "$bound_mib" \
  "$([ "$over" = 0 ] && echo yes || echo NO)"
[ "$over" = 0 ]
