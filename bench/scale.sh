#!/usr/bin/env bash
# Benchmark, by hand (not CI): mlguard on the scale-out backends against the embedded
# default, on this machine. Starts a throwaway PostgreSQL (Debian's, as the postgres user
# when run as root) and moto_server (S3 + KMS, from PyPI into bench/.venv-scale).
#
#   bench/scale.sh [SECONDS] [INGEST_ROWS]
#
# 1. predict throughput (one row, token, policy, audited before answered): the embedded
#    vault with one server; the PostgreSQL + S3 vault with 1, 2 and 3 servers, loaded by
#    as many oha processes at once (16 connections in all). Each request appends one audit
#    entry, so req/s is also the audit log's append rate with that many writers.
# 2. ingest of INGEST_ROWS rows (default 1,000,000; the demo's generator): wall time and
#    peak RSS of the CLI into the embedded vault and into PostgreSQL + S3 (moto).
#
# MLGUARD_BIN=PATH measures that binary instead of building this tree's.
# Writes to bench/out/scale.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
out="$here/out/scale"
venv="$here/.venv-scale"
secs="${1:-10}"
rows="${2:-1000000}"
rm -rf "$out"; mkdir -p "$out"; chmod 755 "$out"
if ! "$venv/bin/python" -c "import moto.server, boto3" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check 'moto[server]==5.2.5' boto3
fi
if [ ! -x "$here/.tools/bin/oha" ]; then
  cargo install --quiet --locked --root "$here/.tools" oha
fi
oha="$here/.tools/bin/oha"
if [ -n "${MLGUARD_BIN:-}" ]; then
  mlguard="$MLGUARD_BIN"
else
  cargo build --release --quiet --manifest-path "$root/Cargo.toml" -p mlguard-cli
  mlguard="$root/target/release/mlguard"
fi

# --- servers: PostgreSQL and moto on free ports
pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
asroot=(); [ "$(id -u)" = 0 ] && asroot=(runuser -u postgres --)
mkdir -p "$out/pg"; [ "$(id -u)" = 0 ] && chown postgres:postgres "$out/pg"
pgport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
motoport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"${asroot[@]}" "$pgbin/initdb" -D "$out/pg/data" -A trust -U postgres -E UTF8 > /dev/null
"${asroot[@]}" "$pgbin/pg_ctl" -D "$out/pg/data" -l "$out/pg/log.txt" -w start \
  -o "-p $pgport -k $out/pg -c listen_addresses=127.0.0.1 -c max_connections=200" > /dev/null
"$venv/bin/moto_server" -H 127.0.0.1 -p "$motoport" > "$out/moto.log" 2>&1 &
motopid=$!
pids=()
cleanup() {
  kill "${pids[@]}" "$motopid" 2>/dev/null || true
  "${asroot[@]}" "$pgbin/pg_ctl" -D "$out/pg/data" -m fast -w stop > /dev/null 2>&1 || true
}
trap cleanup EXIT
until curl -s -o /dev/null "http://127.0.0.1:$motoport/moto-api/"; do sleep 0.1; done
export AWS_ENDPOINT_URL="http://127.0.0.1:$motoport" AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_REGION=us-east-1
"$venv/bin/python" -c "import boto3; boto3.client('s3', endpoint_url='$AWS_ENDPOINT_URL').create_bucket(Bucket='vault')"
"${asroot[@]}" "$pgbin/createdb" -h 127.0.0.1 -p "$pgport" -U postgres mlguard
catalog="postgres://postgres@127.0.0.1:$pgport/mlguard"

# --- data: the demo's, and a schema that drops personal data for training
"$mlguard" demo --rows 20000 --out "$out/demo" > /dev/null
python3 - "$out/demo/schema.json" "$out/schema.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
for f in s["fields"]:
    if "pii" in f: f["protect"] = "drop"
    c = f.get("constraints")
    if c: c.pop("minimum", None); c.pop("maximum", None)
json.dump(s, open(sys.argv[2], "w"))
PY
row=$(python3 -c "
import csv, json
def cell(v):
    try: return float(v)
    except ValueError: return v
row = next(csv.DictReader(open('$out/demo/user_data.csv')))
print(json.dumps({'rows': [{k: cell(v) for k, v in row.items()}]}))")
echo "$row" > "$out/body.json"

setup() { # VAULT [init flags...]: a vault with the demo's data, a model and a token
  local v=$1; shift
  MLGUARD_VAULT="$v" MLGUARD_KEY_FILE="$out/key" "$mlguard" init --key-file "$out/key" "$@" > /dev/null
  MLGUARD_VAULT="$v" MLGUARD_KEY_FILE="$out/key" "$mlguard" data ingest "$out/demo/user_data.csv" -s "$out/schema.json" --name users > /dev/null
  MLGUARD_VAULT="$v" MLGUARD_KEY_FILE="$out/key" "$mlguard" train --dataset users --name churn > /dev/null
  MLGUARD_VAULT="$v" MLGUARD_KEY_FILE="$out/key" "$mlguard" user add bench --role model-consumer > /dev/null
  MLGUARD_VAULT="$v" MLGUARD_KEY_FILE="$out/key" "$mlguard" token create --user bench 2>/dev/null
}
serve() { # VAULT PORT
  MLGUARD_VAULT="$1" MLGUARD_KEY_FILE="$out/key" "$mlguard" serve --insecure-http --listen "127.0.0.1:$2" > "$out/serve-$2.log" 2>&1 &
  pids+=($!)
  until curl -s -o /dev/null "http://127.0.0.1:$2/healthz"; do sleep 0.1; done
}
load() { # NAME TOKEN PORT... : one oha per port at once, 16 connections in all
  local name=$1 token=$2; shift 2
  local c=$(( 16 / $# )) loaders=()
  for port in "$@"; do
    "$oha" -z "${secs}s" -c "$c" --no-tui --output-format json -m POST \
      -H "Authorization: Bearer $token" -H 'content-type: application/json' -D "$out/body.json" \
      "http://127.0.0.1:$port/v1/models/churn/predict" > "$out/$name-$port.json" &
    loaders+=($!)
  done
  wait "${loaders[@]}"
  python3 - "$name" "$out" "$@" <<'PY'
import json, sys
name, out, ports = sys.argv[1], sys.argv[2], sys.argv[3:]
rps, p99, codes = 0.0, 0.0, {}
for p in ports:
    d = json.load(open(f"{out}/{name}-{p}.json"))
    rps += d["summary"]["requestsPerSec"]
    p99 = max(p99, d["latencyPercentiles"]["p99"])
    for k, v in d.get("statusCodeDistribution", {}).items():
        codes[k] = codes.get(k, 0) + v
print(f"{name:<22} servers={len(ports)}  {rps:>8.0f} req/s (= audit appends/s)  worst p99 {p99*1000:6.2f} ms  statuses {codes}")
PY
}

echo "== predict, 16 connections, ${secs}s each"
token=$(setup "$out/embedded")
serve "$out/embedded" 19100
load embedded "$token" 19100
kill "${pids[@]}"; wait "${pids[@]}" 2>/dev/null || true; pids=()
token=$(setup "$out/shared" --catalog "$catalog" --objects s3://vault/bench)
cp -r "$out/shared" "$out/shared2"; cp -r "$out/shared" "$out/shared3"
serve "$out/shared" 19201
load pg+s3 "$token" 19201
serve "$out/shared2" 19202
load pg+s3 "$token" 19201 19202
serve "$out/shared3" 19203
load pg+s3 "$token" 19201 19202 19203
kill "${pids[@]}"; wait "${pids[@]}" 2>/dev/null || true; pids=()
for v in embedded shared; do
  MLGUARD_VAULT="$out/$v" MLGUARD_KEY_FILE="$out/key" MLGUARD_STATE_DIR="$out/state" "$mlguard" audit verify
done

echo "== ingest of $rows rows (the shared generator's user_data, as bench/pipeline.sh)"
shared="${MLGUARD_SHARED:-$root/../shared}"
"$venv/bin/python" -c 'import numpy' 2>/dev/null || "$venv/bin/pip" install --quiet --disable-pip-version-check numpy
data="$out/user_data_$rows.csv"
[ -f "$data" ] || "$venv/bin/python" "$shared/bench/gen_user_data.py" --rows "$rows" --out "$data" >&2
"$mlguard" data infer-schema "$data" --target label -o "$out/draft.json" --force 2> /dev/null
python3 "$here/bench_schema.py" "$out/draft.json" "$out/big-schema.json"
ls -la "$data" | awk '{printf "file: %.0f MB\n", $5/1e6}'
for v in embedded shared; do
  /usr/bin/time -f "$v: %e s wall, %M KiB peak RSS" env MLGUARD_VAULT="$out/$v" MLGUARD_KEY_FILE="$out/key" \
    "$mlguard" data ingest "$data" -s "$out/big-schema.json" --name big > /dev/null
done
