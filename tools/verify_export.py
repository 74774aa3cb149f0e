#!/usr/bin/env python3
"""Check a ClientLedger export bundle, independently of the ClientLedger program.

Usage: python3 tools/verify_export.py BUNDLE [--public-key HEX_OR_FILE]
       python3 tools/verify_export.py --self-test

Standard library only: SHA-256 and SHA-512 from hashlib, and a small pure-Python Ed25519
verifier written after RFC 8032 (section 5.1.7, with the arithmetic of section 6). It is slow
(a few milliseconds per signature), which is fine: a bundle holds two signatures.

The contract checked is schemas/export-bundle.md (with schemas/hash-chain.md for the event
hashes and schemas/merkle-tree.md for the tree):

    line 1      header        client, stream, events, exportedAt, publicKey
    line 2      checkpoint    treeSize, root, time, publicKey, signature
    line 3      streamLength  stream, events, lastPosition, treeSize, root, checkpointTime, signature
    line 4 ...  event         the ten chain fields, previousHash, hash, inclusion

Output (stdout):
    OK client <id>: <n> events, tree size <N>, root <hex>, key <fingerprint> (pinned|from the bundle)
    BROKEN at line <n>: <reason>

Exit status: 0 intact; 1 broken; 64 usage; 66 the file does not exist.
"""

import argparse
import hashlib
import json
import struct
import sys

EX_USAGE = 64
EX_NOINPUT = 66
FORMAT = "clientledger-export/1"
GENESIS = bytes(32)

# ---------------------------------------------------------------------------------------------
# Ed25519 verification (RFC 8032). Points in extended homogeneous coordinates (X, Y, Z, T).

P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493
D = -121665 * pow(121666, P - 2, P) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)


def _inv(x):
    return pow(x, P - 2, P)


def _add(a, b):
    x1, y1, z1, t1 = a
    x2, y2, z2, t2 = b
    aa = (y1 - x1) * (y2 - x2) % P
    bb = (y1 + x1) * (y2 + x2) % P
    cc = 2 * t1 * t2 * D % P
    dd = 2 * z1 * z2 % P
    e, f, g, h = bb - aa, dd - cc, dd + cc, bb + aa
    return (e * f % P, g * h % P, f * g % P, e * h % P)


def _mul(s, point):
    result = (0, 1, 1, 0)
    while s > 0:
        if s & 1:
            result = _add(result, point)
        point = _add(point, point)
        s >>= 1
    return result


def _equal(a, b):
    return (a[0] * b[2] - b[0] * a[2]) % P == 0 and (a[1] * b[2] - b[1] * a[2]) % P == 0


def _recover_x(y, sign):
    if y >= P:
        return None
    x2 = (y * y - 1) * _inv(D * y * y + 1) % P
    if x2 == 0:
        return None if sign else 0
    x = pow(x2, (P + 3) // 8, P)
    if (x * x - x2) % P != 0:
        x = x * SQRT_M1 % P
    if (x * x - x2) % P != 0:
        return None
    if (x & 1) != sign:
        x = P - x
    return x


def _decode_point(data):
    """RFC 8032 section 5.1.3; None when the bytes are not a point."""
    if len(data) != 32:
        return None
    y = int.from_bytes(data, "little")
    sign = y >> 255
    y &= (1 << 255) - 1
    x = _recover_x(y, sign)
    if x is None:
        return None
    return (x, y, 1, x * y % P)


_GY = 4 * _inv(5) % P
BASE = (_recover_x(_GY, 0), _GY, 1, _recover_x(_GY, 0) * _GY % P)


def ed25519_verify(public_key, message, signature):
    """RFC 8032 section 5.1.7: whether signature is a valid Ed25519 signature of message."""
    if len(public_key) != 32 or len(signature) != 64:
        return False
    a = _decode_point(public_key)
    r = _decode_point(signature[:32])
    if a is None or r is None:
        return False
    s = int.from_bytes(signature[32:], "little")
    if s >= L:
        return False
    k = int.from_bytes(hashlib.sha512(signature[:32] + public_key + message).digest(), "little") % L
    # [8][S]B = [8]R + [8][k]A  (the cofactored check of section 5.1.7, step 3)
    left = _mul(8, _mul(s, BASE))
    right = _mul(8, _add(r, _mul(k, a)))
    return _equal(left, right)


# ---------------------------------------------------------------------------------------------
# The hash chain (schemas/hash-chain.md) and the Merkle tree (RFC 9162 section 2).

CHAIN_FIELDS = ("position", "stream", "version", "eventId", "type", "schemaVersion",
                "occurredAt", "recordedAt", "data", "metadata")


def chain_hash(previous, event):
    canonical = bytearray(previous)
    for name in CHAIN_FIELDS:
        value = event[name]
        b = str(value).encode("ascii") if isinstance(value, int) else value.encode("utf-8")
        canonical += struct.pack(">I", len(b)) + b
    return hashlib.sha256(bytes(canonical)).digest()


def leaf_hash(data):
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def verify_inclusion(leaf, index, tree_size, path, root):
    """RFC 9162 section 2.1.3.2."""
    if index >= tree_size:
        return False
    fn, sn, r = index, tree_size - 1, leaf
    for p in path:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def merkle_root(leaves):
    """MTH of RFC 9162 section 2.1.1, straight from the definition (for the self-test)."""
    n = len(leaves)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return leaf_hash(leaves[0])
    k = 1
    while k << 1 < n:
        k <<= 1
    return node_hash(merkle_root(leaves[:k]), merkle_root(leaves[k:]))


def inclusion_path(m, leaves):
    """PATH(m, D[n]) of RFC 9162 section 2.1.3.1 (for the self-test)."""
    n = len(leaves)
    if n <= 1:
        return []
    k = 1
    while k << 1 < n:
        k <<= 1
    if m < k:
        return inclusion_path(m, leaves[:k]) + [merkle_root(leaves[k:])]
    return inclusion_path(m - k, leaves[k:]) + [merkle_root(leaves[:k])]


# ---------------------------------------------------------------------------------------------
# The bundle.

class Bad(Exception):
    def __init__(self, line, reason):
        super().__init__(reason)
        self.line = line
        self.reason = reason


def fingerprint(key):
    return hashlib.sha256(key).hexdigest()[:16]


def _reject_constant(name):
    raise ValueError(f"{name} is not a JSON number")


def parse_object(lines, number, what):
    if number > len(lines):
        raise Bad(number, f"the bundle ends before its {what} line")
    try:
        value = json.loads(lines[number - 1].decode("utf-8"), parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError) as error:
        raise Bad(number, f"not a JSON line: {error}")
    if not isinstance(value, dict):
        raise Bad(number, "not a JSON object")
    return value


class Fields:
    """Strict reading of one line's fields: every field known, every type exact."""

    def __init__(self, obj, number, allowed, kind):
        self.obj, self.number = obj, number
        for key in obj:
            if key not in allowed:
                raise Bad(number, f"unknown field {key}")
        if self.text("kind") != kind:
            raise Bad(number, f"expected a {kind} line, found kind {obj.get('kind')}")

    def text(self, name):
        if name not in self.obj:
            raise Bad(self.number, f"field {name} is missing")
        value = self.obj[name]
        if not isinstance(value, str):
            raise Bad(self.number, f"field {name} must be a string")
        return value

    def count(self, name):
        if name not in self.obj:
            raise Bad(self.number, f"field {name} is missing")
        value = self.obj[name]
        if type(value) is not int or value < 0:
            raise Bad(self.number, f"field {name} must be a whole number >= 0")
        return value

    def hex(self, name, size):
        value = self.text(name)
        if len(value) != 2 * size or any(c not in "0123456789abcdef" for c in value):
            raise Bad(self.number, f"field {name} must be {2 * size} lower-case hexadecimal digits")
        return bytes.fromhex(value)

    def hex_list(self, name):
        if name not in self.obj:
            raise Bad(self.number, f"field {name} is missing")
        value = self.obj[name]
        if not isinstance(value, list):
            raise Bad(self.number, f"field {name} must be an array")
        out = []
        for item in value:
            if not isinstance(item, str) or len(item) != 64 or any(c not in "0123456789abcdef" for c in item):
                raise Bad(self.number, f"field {name} must hold hashes of 64 lower-case hexadecimal digits")
            out.append(bytes.fromhex(item))
        return out

    def moment(self, name):
        value = self.text(name)
        ok = (len(value) == 24 and value[4] == "-" and value[7] == "-" and value[10] == "T"
              and value[13] == ":" and value[16] == ":" and value[19] == "." and value[23] == "Z"
              and all(value[i].isdigit() and value[i].isascii()
                      for i in (0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18, 20, 21, 22)))
        if not ok:
            raise Bad(self.number, f"field {name} must be a moment in the form 2026-03-02T09:31:00.000Z")
        return value


def checkpoint_message(size, root, time):
    return f"clientledger-checkpoint/1\n{size}\n{root.hex()}\n{time}\n".encode("utf-8")


def statement_message(stream, events, last, size, root, time):
    return f"clientledger-stream-length/1\n{stream}\n{events}\n{last}\n{size}\n{root.hex()}\n{time}\n".encode("utf-8")


def verify_bundle(data, pinned):
    """Returns (client, events checked, tree size, root, key); raises Bad at the first bad line."""
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()

    h = Fields(parse_object(lines, 1, "header"), 1,
               {"kind", "format", "client", "stream", "events", "exportedAt", "publicKey"}, "header")
    if h.text("format") != FORMAT:
        raise Bad(1, f"format {h.obj['format']} is not {FORMAT}")
    client, stream, declared = h.text("client"), h.text("stream"), h.count("events")
    exported_at, bundle_key = h.moment("exportedAt"), h.hex("publicKey", 32)
    if stream != "client/" + client:
        raise Bad(1, f"stream {stream} is not the stream of client {client}")
    if pinned is not None and pinned != bundle_key:
        raise Bad(1, f"the bundle is signed by key {fingerprint(bundle_key)}, not by the given public key {fingerprint(pinned)}")
    key = pinned if pinned is not None else bundle_key

    c = Fields(parse_object(lines, 2, "checkpoint"), 2,
               {"kind", "treeSize", "root", "time", "publicKey", "signature"}, "checkpoint")
    size, root, time = c.count("treeSize"), c.hex("root", 32), c.moment("time")
    checkpoint_key, checkpoint_signature = c.hex("publicKey", 32), c.hex("signature", 64)
    if checkpoint_key != key:
        # The header or the checkpoint is wrong: the stream statement (signed by one of the two
        # keys) decides, unless the key was given.
        under_header_key = False
        try:
            t = Fields(parse_object(lines, 3, "streamLength"), 3,
                       {"kind", "stream", "events", "lastPosition", "treeSize", "root", "checkpointTime", "signature"},
                       "streamLength")
            under_header_key = ed25519_verify(key, statement_message(
                t.text("stream"), t.count("events"), t.count("lastPosition"), t.count("treeSize"),
                t.hex("root", 32), t.moment("checkpointTime")), t.hex("signature", 64))
        except Bad:
            pass
        line = 2 if pinned is not None or under_header_key else 1
        raise Bad(line, f"the header names key {fingerprint(key)}, the checkpoint key {fingerprint(checkpoint_key)}")
    if not ed25519_verify(key, checkpoint_message(size, root, time), checkpoint_signature):
        raise Bad(2, "the checkpoint's signature does not verify: it was altered or not signed by this ledger's key")

    s = Fields(parse_object(lines, 3, "streamLength"), 3,
               {"kind", "stream", "events", "lastPosition", "treeSize", "root", "checkpointTime", "signature"},
               "streamLength")
    s_stream, s_events, s_last = s.text("stream"), s.count("events"), s.count("lastPosition")
    s_size, s_root, s_time, s_signature = s.count("treeSize"), s.hex("root", 32), s.moment("checkpointTime"), s.hex("signature", 64)
    if not ed25519_verify(key, statement_message(s_stream, s_events, s_last, s_size, s_root, s_time), s_signature):
        raise Bad(3, "the stream statement's signature does not verify: it was altered or not signed by this ledger's key")
    if (s_size, s_root, s_time) != (size, root, time):
        raise Bad(2, f"the checkpoint (tree size {size}, {time}) is not the one the stream statement on line 3 "
                     f"was signed with (tree size {s_size}, {s_time})")
    if exported_at != time:
        raise Bad(1, f"exportedAt {exported_at} is not the signed checkpoint time {time} of line 2")
    if s_stream != stream:
        raise Bad(1, f"the header is for {stream}, the signed statement on line 3 for {s_stream}")
    if declared != s_events:
        raise Bad(1, f"the header says {declared} events, the signed statement on line 3 says {s_events}")

    last_position = 0
    for index in range(s_events):
        number = 4 + index
        if number > len(lines):
            raise Bad(number, f"the bundle ends after {index} events; the signed statement on line 3 says the stream holds {s_events}")
        e = Fields(parse_object(lines, number, "event"), number,
                   {"kind", "previousHash", "hash", "inclusion"} | set(CHAIN_FIELDS), "event")
        event = {}
        for name in CHAIN_FIELDS:
            event[name] = e.count(name) if name in ("position", "version", "schemaVersion") else e.text(name)
        previous, stored, path = e.hex("previousHash", 32), e.hex("hash", 32), e.hex_list("inclusion")
        position = event["position"]
        if position < 1:
            raise Bad(number, "field position must be 1 or more")
        if event["stream"] != stream:
            raise Bad(number, f"the event belongs to {event['stream']}, not to {stream}")
        if event["version"] != index + 1:
            raise Bad(number, f"expected version {index + 1} of the stream here, found version {event['version']}: "
                              "an event is missing, out of order or inserted")
        if position <= last_position:
            raise Bad(number, f"position {position} does not follow position {last_position}: the events are out of order")
        if position > size:
            raise Bad(number, f"position {position} lies beyond the checkpoint's tree size {size}")
        try:
            computed = chain_hash(previous, event)
        except UnicodeEncodeError:
            raise Bad(number, "a text field holds a lone surrogate, which no stored event can hold")
        if computed != stored:
            raise Bad(number, "the event's hash does not recompute from its fields and previousHash: the event was altered")
        if not verify_inclusion(leaf_hash(computed), position - 1, size, path, root):
            raise Bad(number, "the event is not in the signed checkpoint's tree (its inclusion proof does not lead "
                              "to the root): it was altered or forged")
        if index == s_events - 1 and position != s_last:
            raise Bad(number, f"the last event is at position {position}, the signed statement on line 3 says {s_last}")
        last_position = position
    if len(lines) > 3 + s_events:
        raise Bad(4 + s_events, f"more lines than the {s_events} events the signed statement on line 3 covers")
    return client, s_events, size, root, key


# ---------------------------------------------------------------------------------------------

def self_test():
    """RFC 8032 section 7.1 test 1 and 2, and the tree against the RFC 9162 definitions."""
    public = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
    signature = bytes.fromhex(
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
        "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b")
    assert ed25519_verify(public, b"", signature), "RFC 8032 test 1"
    assert not ed25519_verify(public, b"x", signature), "RFC 8032 test 1, other message"
    public2 = bytes.fromhex("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c")
    signature2 = bytes.fromhex(
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
        "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00")
    assert ed25519_verify(public2, b"\x72", signature2), "RFC 8032 test 2"
    leaves = [bytes([i]) * (i % 5) for i in range(20)]
    for n in range(1, len(leaves) + 1):
        root = merkle_root(leaves[:n])
        for m in range(n):
            assert verify_inclusion(leaf_hash(leaves[m]), m, n, inclusion_path(m, leaves[:n]), root), (m, n)
            assert not verify_inclusion(leaf_hash(leaves[m] + b"!"), m, n, inclusion_path(m, leaves[:n]), root)
    print("self-test OK")
    return 0


def read_key(argument):
    if len(argument) == 64 and all(c in "0123456789abcdefABCDEF" for c in argument):
        return bytes.fromhex(argument)
    try:
        with open(argument, "rb") as handle:
            text = handle.read().decode("utf-8", "replace").strip()
    except OSError as error:
        raise SystemExit(f"verify_export: --public-key: {error}")
    if len(text) != 64 or any(c not in "0123456789abcdefABCDEF" for c in text):
        print(f"verify_export: --public-key: {argument} does not hold a public key (64 hexadecimal digits)", file=sys.stderr)
        sys.exit(EX_USAGE)
    return bytes.fromhex(text)


def main():
    parser = argparse.ArgumentParser(description="Check a ClientLedger export bundle offline.")
    parser.add_argument("bundle", nargs="?")
    parser.add_argument("--public-key", help="the ledger's public key: 64 hex digits or a file holding them")
    parser.add_argument("--self-test", action="store_true", help="check the Ed25519 and Merkle code against known answers")
    args = parser.parse_args()
    if args.self_test:
        return self_test()
    if args.bundle is None:
        parser.print_usage(sys.stderr)
        return EX_USAGE
    pinned = read_key(args.public_key) if args.public_key else None
    try:
        with open(args.bundle, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        print(f"verify_export: {args.bundle}: no such file", file=sys.stderr)
        return EX_NOINPUT
    except OSError as error:
        print(f"verify_export: {args.bundle}: {error}", file=sys.stderr)
        return EX_NOINPUT
    try:
        client, events, size, root, key = verify_bundle(data, pinned)
    except Bad as bad:
        print(f"BROKEN at line {bad.line}: {bad.reason}")
        return 1
    origin = "pinned" if pinned is not None else "from the bundle"
    print(f"OK client {client}: {events} events, tree size {size}, root {root.hex()}, key {fingerprint(key)} ({origin})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
