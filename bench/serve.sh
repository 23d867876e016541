#!/usr/bin/env bash
# Benchmark: `mlguard serve` against the best Python peer (FastAPI on uvicorn[standard],
# two workers, OPENBLAS_NUM_THREADS=1, scikit-learn; bench/serve_peer.py) serving a
# logistic regression of the same data, by hand (not CI). POST /predict with one row,
# token auth on both; on mlguard every request authorised by the policy and written durably
# to the audit log before it is answered (TLS), on the peer an audit line appended and
# flushed (plain HTTP). oha (built from crates.io into bench/.tools) loads each for 10 s at
# 1, 16 and 64 connections; prints requests/s, p50 and p99, and the ratios.
#
#   bench/serve.sh [SECONDS]
#
# MLGUARD_BIN=PATH measures that binary instead of building this tree's (to compare two
# commits side by side: build each, copy the binary, run once with each).
#
# Installs fastapi, uvicorn[standard], scikit-learn and pandas into bench/.venv-serve;
# writes to bench/out/serve. Goal (issue 19): >= 10x the peer's requests/s at 16
# connections with p99 <= 2 ms, and a p99 within 2x of it while a 1M-row table is uploaded
# to and ingested by the same server (the last run; bench/out/user_data_1000000.csv,
# generated if missing; the ingest is also timed alone).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
out="$here/out/serve"
venv="$here/.venv-serve"
secs="${1:-10}"
mkdir -p "$out"
if ! "$venv/bin/python" -c "import fastapi, uvicorn, uvloop, httptools, sklearn, pandas" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check fastapi "uvicorn[standard]" scikit-learn pandas
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

# A vault with the demo's data and model, and a model consumer's token.
rm -rf "$out/demo"
"$mlguard" demo --rows 20000 --out "$out/demo" > /dev/null
export MLGUARD_VAULT="$out/demo/vault" MLGUARD_KEY_FILE="$out/demo/vault.key"
"$mlguard" user add bench --role model-consumer > /dev/null
token=$("$mlguard" token create --user bench 2>/dev/null)
python3 -c "
import csv, json
def cell(v):
    try:
        return float(v)
    except ValueError:
        return v
rows = csv.DictReader(open('$out/demo/user_data.csv'))
rows = [{k: cell(v) for k, v in next(rows).items()} for _ in range(32)]
json.dump({'rows': rows[:1]}, open('$out/body.json', 'w'))
json.dump({'rows': rows}, open('$out/body32.json', 'w'))"

"$mlguard" serve --tls-self-signed --listen 127.0.0.1:18443 > "$out/mlguard-serve.log" 2>&1 &
mpid=$!
rm -f "$out/peer-audit.log"
PEER_DATA="$out/demo/user_data.csv" PEER_TOKEN="$token" PEER_AUDIT="$out/peer-audit.log" OPENBLAS_NUM_THREADS=1 \
  "$venv/bin/uvicorn" serve_peer:app --app-dir "$here" --workers 2 --port 18080 --no-access-log \
  > "$out/peer.log" 2>&1 &
ppid=$!
trap 'kill $mpid $ppid 2>/dev/null || true; pkill -f "serve_peer:app" 2>/dev/null || true' EXIT
for i in $(seq 1 60); do
  curl -sk https://127.0.0.1:18443/healthz > /dev/null 2>&1 && curl -s -o /dev/null http://127.0.0.1:18080/ 2>/dev/null && break
  sleep 1
done
curl -sfk -H "Authorization: Bearer $token" -H 'content-type: application/json' -d @"$out/body.json" \
  https://127.0.0.1:18443/v1/models/churn/predict > /dev/null || { echo "mlguard predict failed"; exit 1; }
curl -sf -H "Authorization: Bearer $token" -H 'content-type: application/json' -d @"$out/body.json" \
  http://127.0.0.1:18080/predict > /dev/null || { echo "peer predict failed"; exit 1; }

run() { # name url connections [rows per request]
  "$oha" -z "${secs}s" -c "$3" --no-tui --insecure --output-format json -m POST \
    -H "Authorization: Bearer $token" -H 'content-type: application/json' -D "$out/body${4:-}.json" "$2" \
    > "$out/$1-$3.json"
  python3 - "$out/$1-$3.json" "$1" "$3" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
s, p = d["summary"], d["latencyPercentiles"]
codes = d.get("statusCodeDistribution", {})
print(f"{sys.argv[2]:<8} c={sys.argv[3]:<3} {s['requestsPerSec']:>9.0f} req/s  p50 {p['p50']*1000:7.2f} ms  p99 {p['p99']*1000:7.2f} ms  statuses {codes}")
PY
}
for c in 1 16 64; do
  run mlguard https://127.0.0.1:18443/v1/models/churn/predict "$c"
  run peer http://127.0.0.1:18080/predict "$c"
  python3 - "$out/mlguard-$c.json" "$out/peer-$c.json" "$c" <<'PY'
import json, sys
m, p = (json.load(open(f))["summary"]["requestsPerSec"] for f in sys.argv[1:3])
print(f"  c={sys.argv[3]}: mlguard {m / p:.1f}x the peer's requests/s")
PY
done
# 32 rows per request (issue 19: >= 1M rows/s).
run mlguard32 https://127.0.0.1:18443/v1/models/churn/predict 16 32
run peer32 http://127.0.0.1:18080/predict 16 32
python3 - "$out/mlguard32-16.json" "$out/peer32-16.json" <<'PY'
import json, sys
m, p = (json.load(open(f))["summary"]["requestsPerSec"] * 32 for f in sys.argv[1:3])
print(f"  c=16, 32 rows a request: mlguard {m:,.0f} rows/s, the peer {p:,.0f} rows/s: {m / p:.1f}x (goal >= 1,000,000 rows/s)")
PY
# Predictions while a 1M-row ingest runs on the same server (issue 19: the p99 must stay
# within 2x the idle p99 at 16 connections).
big="$here/out/user_data_1000000.csv"
if [ ! -f "$big" ]; then
  "$venv/bin/python" "${MLGUARD_SHARED:-$root/../shared}/bench/gen_user_data.py" --rows 1000000 --out "$big" >&2
fi
"$mlguard" data infer-schema "$big" --target label -o "$out/big-draft.json" --force 2> /dev/null
python3 "$here/bench_schema.py" "$out/big-draft.json" "$out/big-schema.json"
# The table is uploaded to the server (a data steward's token), which ingests it as bulk
# work at the lowest priority beside the predictions it serves. The uploading client runs
# at idle priority too (chrt, when there is one), standing in for a client on another
# machine: this one has two cores for the load generator, the client and the server.
"$mlguard" user add loader --role data-steward > /dev/null
loader=$("$mlguard" token create --user loader 2>/dev/null)
idle=()
if command -v chrt > /dev/null; then idle=(chrt --idle 0); fi
ingest() {
  MLGUARD_TOKEN="$loader" "${idle[@]}" "$mlguard" data ingest "$big" --schema "$out/big-schema.json" --name big \
    --server https://127.0.0.1:18443 --ca-cert "$MLGUARD_VAULT/server-cert.pem" > "$out/ingest-$1.log" 2>&1
}
start=$(date +%s.%N)
ingest alone || { echo "the ingest alone failed:"; tail -5 "$out/ingest-alone.log"; exit 1; }
alone=$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$start" "$(date +%s.%N)")
start=$(date +%s.%N)
ingest beside &
ipid=$!
sleep 0.5
run mlguard-ingesting https://127.0.0.1:18443/v1/models/churn/predict 16
wait $ipid || { echo "the ingest beside failed:"; tail -5 "$out/ingest-beside.log"; exit 1; }
beside=$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$start" "$(date +%s.%N)")
python3 - "$out/mlguard-16.json" "$out/mlguard-ingesting-16.json" <<'PY'
import json, sys
idle, busy = (json.load(open(f))["latencyPercentiles"]["p99"] * 1000 for f in sys.argv[1:3])
print(f"  c=16 beside a 1M-row upload and ingest: p99 {busy:.2f} ms vs {idle:.2f} ms idle: {busy / idle:.1f}x (goal <= 2x)")
PY
echo "  the 1M-row upload and ingest took ${alone} s alone, ${beside} s beside ${secs} s of predictions"
entries=$("$mlguard" audit verify --json | python3 -c "import json,sys; d=json.load(sys.stdin); print(d['entries'], 'entries, ok' if d['ok'] else 'FAILED')")
echo "audit log after the run: $entries"
