"""Check the frame codec against ``vectors.json``; runs under CPython and MicroPython alike.

Run from the repository root: ``micropython protocol/vector_check.py`` prints ``N passed, 0 failed``
and exits non-zero on any failure.
"""

import json
import sys

sys.path.insert(0, ".")

from protocol import frames
from protocol.hmac_sha256 import hmac_sha256, hmac_sha256_pure


def _check_valid(vec: dict) -> str:
    key = bytes.fromhex(vec["key"])
    want = vec["hex"]
    got = frames.encode(frames.from_fields(vec["frame"]), key).hex()
    if got != want:
        return "encode gave " + got
    decoded = frames.to_fields(frames.decode(bytes.fromhex(want), key))
    if decoded != vec["frame"]:
        return "decode gave " + repr(decoded)
    if "readings" in vec:
        split = [frames.to_fields(r) for r in frames.split_batch(frames.from_fields(decoded))]
        if split != vec["readings"]:
            return "split_batch gave " + repr(split)
    if hmac_sha256_pure(key, bytes.fromhex(want)) != hmac_sha256(key, bytes.fromhex(want)):
        return "pure HMAC differs from the platform's"
    return ""


def _check_invalid(vec: dict) -> str:
    try:
        frames.decode(bytes.fromhex(vec["hex"]), bytes.fromhex(vec["key"]))
    except frames.FrameError as exc:
        return "" if exc.reason == vec["reason"] else "refused as " + exc.reason
    return "accepted"


def main(path: str = "protocol/vectors.json") -> int:
    """Run every vector; print failures and a closing ``N passed, N failed`` line."""
    with open(path) as fh:
        doc = json.load(fh)
    passed = failed = 0
    for vec, check in [(v, _check_valid) for v in doc["valid"]] + [(v, _check_invalid) for v in doc["invalid"]]:
        problem = check(vec)
        if problem:
            failed += 1
            print("FAIL", vec["name"], problem)
        else:
            passed += 1
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
