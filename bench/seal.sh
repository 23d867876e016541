#!/usr/bin/env bash
# Benchmark: seal and open a random file with mlguard, with Python `cryptography` Fernet
# (what the textbook fix uses) and with age (if installed), under /usr/bin/time -v.
# Prints GB/s (file size / wall seconds) and peak RSS. Run by hand (not by CI):
#
#   bench/seal.sh [SIZE_MIB]        default: 512
#
# Installs `cryptography` into bench/.venv on first use; works in bench/out/ (ignored by
# git). mlguard writes atomically (temp file, fsync, rename, fsync dir), so its figures
# include making the output durable; the peers do not fsync.
# Goal (issue 3): seal and open >= 2 GB/s on one core, >= 40x Fernet, peak RSS <= 32 MiB,
# faster than age.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
size_mib="${1:-512}"
# BENCH_DIR: where files are written. On tmpfs (e.g. /dev/shm) fsync is free, so the
# figures show the crypto pipeline; on a disk they include making mlguard's output durable.
out="${BENCH_DIR:-$here/out/seal}"
venv="$here/.venv"
mkdir -p "$out"

if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/python" -c 'import cryptography' 2>/dev/null || "$venv/bin/pip" install --quiet --disable-pip-version-check cryptography
py="$venv/bin/python"

echo "building mlguard (release)..." >&2
cargo build --release --quiet --manifest-path "$root/Cargo.toml" -p mlguard-cli
mlguard="$root/target/release/mlguard"

data="$out/random_${size_mib}MiB.bin"
[ -f "$data" ] || head -c "$((size_mib * 1024 * 1024))" /dev/urandom > "$data"
bytes=$(stat -c %s "$data")
# Warm the page cache so every tool reads from memory.
cat "$data" > /dev/null

rm -rf "$out/vault" "$out/key"
"$mlguard" init --vault "$out/vault" --key-file "$out/key" > /dev/null
export MLGUARD_VAULT="$out/vault" MLGUARD_KEY_FILE="$out/key"

# Runs a command under /usr/bin/time -v; prints "wall_seconds peak_rss_kib".
measure() {
  local log
  log="$(mktemp)"
  /usr/bin/time -v "$@" > /dev/null 2> "$log" || { cat "$log" >&2; rm -f "$log"; return 1; }
  local wall rss
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i]; print s}' "$log")
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$log")
  rm -f "$log"
  echo "$wall $rss"
}
row() { # tool op wall rss
  awk -v t="$1" -v o="$2" -v w="$3" -v r="$4" -v b="$bytes" \
    'BEGIN { printf "%-10s %-7s %8.2f %9.2f %10.1f\n", t, o, w, (w > 0 ? b / w / 1e9 : 0), r / 1024 }'
}

printf '%s: %d MiB random file in %s (%s)\n\n%-10s %-7s %8s %9s %10s\n' "$(date -u +%F)" "$size_mib" "$out" "$(df --output=fstype "$out" | tail -1)" tool op wall_s GB/s peak_MiB
rm -f "$out/m.mlseal" "$out/m.out"
read -r w r < <(measure "$mlguard" seal "$data" -o "$out/m.mlseal" --kind file); row mlguard seal "$w" "$r"; ms=$w
read -r w r < <(measure "$mlguard" verify "$out/m.mlseal"); row mlguard verify "$w" "$r"
read -r w r < <(measure "$mlguard" open "$out/m.mlseal" -o "$out/m.out"); row mlguard open "$w" "$r"; mo=$w
cmp -s "$data" "$out/m.out" || { echo "mlguard round trip FAILED" >&2; exit 1; }

read -r w r < <(measure "$py" "$here/fernet_peer.py" seal "$data" "$out/f.enc" "$out/f.key"); row fernet seal "$w" "$r"; fs=$w
read -r w r < <(measure "$py" "$here/fernet_peer.py" open "$out/f.enc" "$out/f.out" "$out/f.key"); row fernet open "$w" "$r"; fo=$w
cmp -s "$data" "$out/f.out" || { echo "fernet round trip FAILED" >&2; exit 1; }

if command -v age > /dev/null && command -v age-keygen > /dev/null; then
  rm -f "$out/age.key"
  age-keygen -o "$out/age.key" 2> /dev/null
  recipient=$(age-keygen -y "$out/age.key")
  read -r w r < <(measure age -r "$recipient" -o "$out/a.age" "$data"); row age seal "$w" "$r"; as=$w
  read -r w r < <(measure age -d -i "$out/age.key" -o "$out/a.out" "$out/a.age"); row age open "$w" "$r"; ao=$w
  cmp -s "$data" "$out/a.out" || { echo "age round trip FAILED" >&2; exit 1; }
else
  echo "(age not installed: apt-get install age to compare)"
  as=0 ao=0
fi
echo
awk -v ms="$ms" -v mo="$mo" -v fs="$fs" -v fo="$fo" -v as="$as" -v ao="$ao" 'BEGIN {
  printf "mlguard vs fernet: seal %.1fx faster, open %.1fx faster\n", fs / ms, fo / mo
  if (as > 0) printf "mlguard vs age:    seal %.1fx faster, open %.1fx faster\n", as / ms, ao / mo
}'
rm -f "$out/m.out" "$out/f.out" "$out/a.out" "$out/f.enc" "$out/a.age" "$out/m.mlseal"
