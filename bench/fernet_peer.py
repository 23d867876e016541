#!/usr/bin/env python3
"""The peer for bench/seal.sh: Fernet as the textbook fix uses it (whole file in memory).

  fernet_peer.py seal IN OUT KEYFILE    encrypt IN (writes a new key to KEYFILE)
  fernet_peer.py open IN OUT KEYFILE    decrypt IN
"""
import sys

from cryptography.fernet import Fernet


def main():
    if len(sys.argv) != 5 or sys.argv[1] not in ("seal", "open"):
        sys.exit(__doc__)
    cmd, src, dst, keyfile = sys.argv[1:]
    data = open(src, "rb").read()
    if cmd == "seal":
        key = Fernet.generate_key()
        open(keyfile, "wb").write(key)
        out = Fernet(key).encrypt(data)
    else:
        out = Fernet(open(keyfile, "rb").read()).decrypt(data)
    open(dst, "wb").write(out)


if __name__ == "__main__":
    main()
