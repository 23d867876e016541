#!/usr/bin/env bash
# Benchmark, by hand (not CI): `mlguard data ingest` — validation, protection, poisoning
# checks and sealing, every safeguard on — of the shared generator's user_data at several
# sizes, into a fresh embedded vault: wall time and peak RSS per size, to show the cost
# linear in rows and the memory flat (issue 19: 1M rows <= 3 s and <= 128 MiB; 10M rows
# <= 10x the 1M time, same memory).
#
#   bench/ingest.sh [ROWS...]        default: 1000000 10000000
#
# Generates the files into bench/out once (10M rows: 1.9 GB, about 90 s) with numpy from
# bench/.venv; the schema is bench/pipeline.sh's (bench_schema.py).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
shared="${MLGUARD_SHARED:-$root/../shared}"
sizes=("${@:-1000000 10000000}")
venv="$here/.venv"
out="$here/out/ingest"
mkdir -p "$out"
if [ ! -x "$venv/bin/python" ]; then python3 -m venv "$venv"; fi
"$venv/bin/python" -c 'import numpy' 2>/dev/null ||
  "$venv/bin/pip" install --quiet --disable-pip-version-check numpy
cargo build --release --quiet --manifest-path "$root/Cargo.toml" -p mlguard-cli
mlguard="$root/target/release/mlguard"
printf '%-10s %10s %12s %10s\n' rows wall_s peak_MiB MB_in
for rows in ${sizes[@]}; do
  data="$here/out/user_data_$rows.csv"
  [ -f "$data" ] || "$venv/bin/python" "$shared/bench/gen_user_data.py" --rows "$rows" --out "$data" >&2
  "$mlguard" data infer-schema "$data" --target label -o "$out/draft.json" --force 2> /dev/null
  "$venv/bin/python" "$here/bench_schema.py" "$out/draft.json" "$out/schema.json"
  rm -rf "$out/vault" "$out/key"
  "$mlguard" init --vault "$out/vault" --key-file "$out/key" > /dev/null
  /usr/bin/time -f '%e %M' -o "$out/time" env MLGUARD_VAULT="$out/vault" MLGUARD_KEY_FILE="$out/key" \
    "$mlguard" data ingest "$data" --schema "$out/schema.json" --name users > /dev/null 2>&1
  read -r wall rss < "$out/time"
  printf '%-10s %10.2f %12.1f %10.0f\n' "$rows" "$wall" "$(awk -v r="$rss" 'BEGIN {print r / 1024}')" \
    "$(stat -c %s "$data" | awk '{print $1 / 1e6}')"
done
rm -rf "$out/vault"
