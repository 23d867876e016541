#!/usr/bin/env bash
# Benchmark: label noise found by `mlguard data poison` (confident learning on our own
# logistic regression) against cleanlab's defaults (find_label_issues on 5-fold
# out-of-fold probabilities of scikit-learn's LogisticRegression), by hand (not CI).
# Flips 5 % of the labels of two datasets at random and scores both on the flipped rows:
# a Gaussian one (scikit-learn's make_classification, 20,000 rows) and the demo's users
# (logistic labels from 11 features and 2 categories, 20,000 rows).
#
#   bench/label_noise.sh [SEED...]      # default seeds 1 2 3
#
# Installs cleanlab, scikit-learn and pandas into bench/.venv-noise on first use; writes
# to bench/out/noise. Goal (issue 7): F1 >= 0.75 on the flipped rows.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
venv="$here/.venv-noise"
out="$here/out/noise"
seeds=("${@:-1 2 3}")
if ! "$venv/bin/python" -c "import cleanlab, sklearn, pandas" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check cleanlab scikit-learn pandas
fi
cargo build --release --quiet --manifest-path "$root/Cargo.toml" -p mlguard-cli
mlguard="$root/target/release/mlguard"
py="$venv/bin/python"
mkdir -p "$out"
"$mlguard" demo --rows 20000 --out "$out/demo" > /dev/null
for seed in ${seeds[@]}; do
  for dataset in gaussian "users:$out/demo/user_data.csv"; do
    dir="$out/${dataset%%:*}-$seed"
    "$py" "$here/label_noise.py" make "$dir" "$dataset" "$seed"
    "$mlguard" data poison "$dir/data.csv" --schema "$dir/schema.json" --format json --label-noise 0.05 \
      --max-errors 1000000 > "$dir/mlguard.json" || true
    "$py" "$here/label_noise.py" cleanlab "$dir"
    "$py" "$here/label_noise.py" score "$dir" mlguard "$dir/mlguard.json"
    "$py" "$here/label_noise.py" score "$dir" cleanlab "$dir/cleanlab.json"
  done
done
