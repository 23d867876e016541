#!/usr/bin/env bash
# Regenerates the committed model fixtures that CI cannot write itself (PyTorch from PyPI is
# ~5 GB with its CUDA wheels; Keras 3 needs a backend, JAX, ~700 MB; transformers goes
# with torch), by hand:
#
#   bench/model_fixtures.sh
#
# Makes bench/.venv-torch and bench/.venv-keras, writes the files into
# crates/mlguard-pickle/tests/fixtures/real/ with manifest.json (labels, library versions,
# SHA-256), which crates/mlguard-pickle/tests/realworld.rs checks. Commit the result with
# the versions in the message.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
out="$root/crates/mlguard-pickle/tests/fixtures/real"
for lib in torch keras transformers; do
  venv="$here/.venv-$lib"
  pkgs=(torch numpy)
  [ "$lib" = keras ] && pkgs=(keras jax numpy)
  # transformers goes in the torch virtualenv (its training_args.bin is a torch.save).
  [ "$lib" = transformers ] && venv="$here/.venv-torch" && pkgs=(torch numpy transformers accelerate)
  if ! "$venv/bin/python" -c "import $lib" 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "${pkgs[@]}"
  fi
  "$venv/bin/python" "$here/model_fixtures.py" "$lib" "$out"
done
echo "wrote $(ls "$out"/*/* | wc -l) files into $out"
