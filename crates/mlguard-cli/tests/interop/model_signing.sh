#!/usr/bin/env bash
# Interop with the OpenSSF `model_signing` package: mlguard signs, model_signing verifies,
# and the reverse; a changed file fails both ways. Installs model-signing and pyopenssl
# into a virtualenv ($VENV, cached between runs). Run by the `model_signing_interop` test.
#   MLGUARD=path/to/mlguard VENV=dir bash model_signing.sh
set -euo pipefail
: "${MLGUARD:?set MLGUARD to the mlguard binary}"
: "${VENV:?set VENV to a virtualenv directory}"
if ! "$VENV/bin/python" -c 'import model_signing, OpenSSL' 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check model-signing pyopenssl
fi
ms="$VENV/bin/model_signing"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
passed=0
check() { # description, expected exit code, command...
  local what=$1 want=$2
  shift 2
  set +e
  "$@" > out.log 2>&1
  local got=$?
  set -e
  if [ "$got" != "$want" ]; then
    echo "FAIL: $what (exit $got, expected $want)"
    cat out.log
    exit 1
  fi
  passed=$((passed + 1))
}

mkdir -p model/sub model/.git
printf 'weights' > model/weights.bin
printf '{"layers": 2}' > model/sub/config.json
printf 'x' > model/a.b
printf 'ref' > model/.git/HEAD
"$MLGUARD" init --vault vault --key-file vault.key > /dev/null
export MLGUARD_VAULT=vault MLGUARD_KEY_FILE=vault.key
"$MLGUARD" keys export-public -o mlguard.pem > /dev/null

# mlguard signs, model_signing verifies.
check "mlguard model sign" 0 "$MLGUARD" model sign model -o mlguard.sig
check "model_signing verifies mlguard's signature" 0 "$ms" verify key model --signature mlguard.sig --public_key mlguard.pem
check "mlguard verifies its own signature" 0 "$MLGUARD" model verify-signature model --signature mlguard.sig --public-key mlguard.pem
# A signature inside the model directory is left out of what it signs.
check "mlguard signs with the signature inside the model" 0 "$MLGUARD" model sign model -o model/model.sig
check "model_signing verifies it" 0 "$ms" verify key model --signature model/model.sig --public_key mlguard.pem

# model_signing signs, mlguard verifies.
"$VENV/bin/python" - <<'PY'
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
key = ec.generate_private_key(ec.SECP256R1())
open("peer.key", "wb").write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
open("peer.pem", "wb").write(key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
PY
rm -f model/model.sig
check "model_signing sign key" 0 "$ms" sign key model --private_key peer.key --signature peer.sig
check "mlguard verifies model_signing's signature" 0 "$MLGUARD" model verify-signature model --signature peer.sig --public-key peer.pem
check "mlguard refuses the wrong key" 1 "$MLGUARD" model verify-signature model --signature peer.sig --public-key mlguard.pem

# Any change fails both ways.
printf 'tampered' >> model/weights.bin
check "model_signing refuses a changed file (mlguard's signature)" 1 "$ms" verify key model --signature mlguard.sig --public_key mlguard.pem
check "mlguard refuses a changed file (model_signing's signature)" 1 "$MLGUARD" model verify-signature model --signature peer.sig --public-key peer.pem
printf 'weights' > model/weights.bin
printf 'new' > model/extra.bin
check "mlguard refuses an extra file" 1 "$MLGUARD" model verify-signature model --signature peer.sig --public-key peer.pem
check "model_signing refuses an extra file" 1 "$ms" verify key model --signature mlguard.sig --public_key mlguard.pem
rm model/extra.bin model/a.b
check "mlguard refuses a missing file" 1 "$MLGUARD" model verify-signature model --signature peer.sig --public-key peer.pem
echo "$passed passed, 0 failed"
