#!/usr/bin/env bash
# Benchmark: validate a generated user_data.csv end to end (read + validate) with mlguard
# and with pandas.read_csv + pandera, under /usr/bin/time -v; prints CPU seconds, peak RSS
# and the ratio for each size. Run by hand (not by CI):
#
#   bench/validate.sh [ROWS ...]          default: 1000000 4000000
#
# Installs numpy, pandas and pandera into bench/.venv on first use; writes data to
# bench/out/ (both ignored by git). Goal (issue 2): mlguard >= 5x fewer CPU seconds than
# the peer, and peak RSS < 64 MiB at 1M and 4M rows.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
shared="${MLGUARD_SHARED:-$root/../shared}"
gen="$shared/bench/gen_user_data.py"
[ -f "$gen" ] || { echo "cannot find $gen (set MLGUARD_SHARED)" >&2; exit 2; }
out="$here/out"
venv="$here/.venv"
mkdir -p "$out"
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000000 4000000)

if [ ! -x "$venv/bin/python" ]; then
  echo "setting up $venv (numpy, pandas, pandera)..." >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check numpy pandas pandera
fi
py="$venv/bin/python"
"$py" -c 'import pandas, pandera; print("pandas", pandas.__version__, "pandera", pandera.__version__)' >&2

echo "building mlguard (release)..." >&2
cargo build --release --quiet --manifest-path "$root/Cargo.toml" -p mlguard-cli
mlguard="$root/target/release/mlguard"
"$py" "$here/validate_peer.py" schema "$out/schema.json"

# Runs a command under /usr/bin/time -v; prints "cpu_seconds peak_rss_kib exit_code".
measure() {
  local log
  log="$(mktemp)"
  set +e
  /usr/bin/time -v "$@" >/dev/null 2>"$log"
  local code=$?
  set -e
  local user sys rss
  user=$(awk -F': ' '/User time/ {print $2}' "$log")
  sys=$(awk -F': ' '/System time/ {print $2}' "$log")
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$log")
  rm -f "$log"
  echo "$(awk -v u="$user" -v s="$sys" 'BEGIN {print u + s}') $rss $code"
}

printf '\n%-9s %-22s %10s %12s %6s\n' rows tool cpu_s peak_MiB exit
for rows in "${sizes[@]}"; do
  data="$out/user_data_$rows.csv"
  if [ ! -f "$data" ]; then
    echo "generating $data..." >&2
    "$py" "$gen" --rows "$rows" --out "$data" >&2
  fi
  read -r m_cpu m_rss m_code < <(measure "$mlguard" data validate "$data" --schema "$out/schema.json")
  read -r p_cpu p_rss p_code < <(measure "$py" "$here/validate_peer.py" validate "$data")
  div() { awk -v a="$1" -v b="$2" 'BEGIN {print (b > 0 ? a / b : 0)}'; }
  printf '%-9s %-22s %10.2f %12.1f %6s\n' "$rows" "mlguard" "$m_cpu" "$(div "$m_rss" 1024)" "$m_code"
  printf '%-9s %-22s %10.2f %12.1f %6s\n' "$rows" "pandas+pandera" "$p_cpu" "$(div "$p_rss" 1024)" "$p_code"
  printf '%-9s %-22s %9.1fx %11.1fx\n' "$rows" "ratio (peer/mlguard)" "$(div "$p_cpu" "$m_cpu")" "$(div "$p_rss" "$m_rss")"
done
