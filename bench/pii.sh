#!/usr/bin/env bash
# Benchmark: mlguard data pii against Presidio's pattern recognizers (no spaCy model, which
# works offline), by hand (not CI). Generates N labelled cells with Faker (en_US, en_GB,
# de_DE values, alone or in sentences, and look-alikes labelled with no kind) into one
# column with an unhelpful header, then prints precision, recall and F1 per kind for both
# tools and their cells per second.
#
#   bench/pii.sh [N]        # default 100000 cells; PII_SEED=K for another sample
#
# Installs faker and presidio-analyzer into bench/.venv-pii on first use; writes to
# bench/out/pii. Goal (issue 7): F1 >= Presidio's on every kind it supports, >= 0.9 on
# PERSON and STREET_ADDRESS, >= 100x its cells per second.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
venv="$here/.venv-pii"
out="$here/out/pii"
n="${1:-100000}"
if ! "$venv/bin/python" -c "import faker, presidio_analyzer" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check faker presidio-analyzer
fi
cargo build --release --quiet --manifest-path "$root/Cargo.toml" -p mlguard-cli
mlguard="$root/target/release/mlguard"
py="$venv/bin/python"
"$py" "$here/pii_corpus.py" generate "$out" "$n"
start=$(date +%s.%N)
"$mlguard" data pii "$out/cells.csv" --cells > "$out/mlguard.jsonl" 2>/dev/null || true
end=$(date +%s.%N)
awk -v s="$start" -v e="$end" -v n="$n" 'BEGIN {printf "mlguard: %d cells in %.2f s = %.0f cells/s (wall, including start-up)\n", n, e - s, n / (e - s)}'
"$py" "$here/pii_corpus.py" presidio "$out"
"$py" "$here/pii_corpus.py" score "$out" mlguard "$out/mlguard.jsonl"
"$py" "$here/pii_corpus.py" score "$out" presidio "$out/presidio.jsonl"
echo "(Presidio has no PERSON, STREET_ADDRESS or POSTAL_CODE without a spaCy model; its DATE_TIME is scored as DATE_OF_BIRTH.)"
