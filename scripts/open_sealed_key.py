#!/usr/bin/env python3
"""Opens a key file sealed by `bittensor keys new --seal` (Keypair.save(file, passphrase)) with
Python's `cryptography` package (44 or later: Argon2id), not with our Java code, and checks that
the seed it holds is the private half of the public key the file states.

    python3 scripts/open_sealed_key.py cold.key pass.txt      # passphrase on pass.txt's first line
    python3 scripts/open_sealed_key.py cold.key               # asked on the terminal

Prints the public id (as `bittensor keys show`) and exits 0, or says why not and exits 1. It
never prints the seed. The format it reads is documented in bittensor-cli/README.md.
"""
import getpass
import re
import sys

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

HEADER = "bittensor-keypair-v2 ed25519 argon2id aes-256-gcm"


def main(argv):
    if len(argv) not in (2, 3):
        print(__doc__.strip().splitlines()[0], file=sys.stderr)
        return 2
    lines = open(argv[1], encoding="ascii").read().split("\n")
    if lines[0] != HEADER:
        print(f"{argv[1]}: not a sealed key file (expected {HEADER!r})", file=sys.stderr)
        return 1
    fields = dict(line.split(": ", 1) for line in lines[1:6])
    cost = re.fullmatch(r"m=(\d+) t=(\d+) p=(\d+) v=19", fields["kdf"])
    memory, passes, lanes = (int(g) for g in cost.groups())
    if len(argv) == 3:
        passphrase = open(argv[2], encoding="utf-8").read().split("\n")[0].rstrip("\r")
    else:
        passphrase = getpass.getpass(f"passphrase for {argv[1]}: ")
    key = Argon2id(salt=bytes.fromhex(fields["salt"]), length=32, iterations=passes,
                   lanes=lanes, memory_cost=memory).derive(passphrase.encode("utf-8"))
    aad = "\n".join([HEADER, "kdf: " + fields["kdf"], "public: " + fields["public"]])
    try:
        seed = AESGCM(key).decrypt(bytes.fromhex(fields["nonce"]),
                                   bytes.fromhex(fields["sealed"]), aad.encode("ascii"))
    except InvalidTag:
        print(f"wrong passphrase for {argv[1]} (or the file was changed)", file=sys.stderr)
        return 1
    public = Ed25519PrivateKey.from_private_bytes(seed).public_key().public_bytes(
        Encoding.Raw, PublicFormat.Raw).hex()
    if public != fields["public"]:
        print(f"{argv[1]}: the seed is not the stated public key's", file=sys.stderr)
        return 1
    print(public)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
