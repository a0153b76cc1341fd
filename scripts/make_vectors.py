"""Regenerate protocol/vectors.json from the codec.

Run only on a deliberate wire-format change (and bump ``protocol.frames.VERSION`` when deployed
devices cannot read the new frames): the vectors exist to catch accidental ones.
"""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from protocol import frames as F
from protocol.hmac_sha256 import hmac_sha256

K1 = bytes(range(16))
K2 = bytes.fromhex("a1" * 16)
FAULTS = F.WL_SENSOR_FAULT | F.WL_LOW_BATTERY
VALID = [
    ("water_level_kim_long", K1, F.Frame(0x0A000001, 3, 17, 1700000000, F.WaterLevel(2350, 87, 0))),
    ("water_level_fault_low_battery", K1, F.Frame(0x0A000001, 3, 65535, 4294967295, F.WaterLevel(65535, 5, FAULTS))),
    ("sos_medical_gps", K2, F.Frame(0x0B000042, 1, 2, 1700000100, F.Sos(1, 3, 2 | 1, 16478670, 107577220))),
    ("sos_trapped_no_gps", K2, F.Frame(0x0B000042, 1, 3, 1700000160, F.Sos(2, 6, 0))),
    ("sos_southern_western_gps", K2, F.Frame(0x0B000042, 1, 4, 1700000170, F.Sos(0, 1, 15, -33868800, -151209300))),
    ("sos_cancel", K2, F.Frame(0x0B000042, 1, 5, 1700000200, F.SosCancel(3))),
    ("node_status", K1, F.Frame(0x0A000001, 3, 18, 1700000300, F.NodeStatus(86, 86400, 12))),
    ("ack_registered", K2, F.Frame(0x0B000042, 7, 1, 1700000105, F.Ack(1, 2, 42, 1))),
    ("config_interval", K1, F.Frame(0x0A000001, 7, 2, 1700000400, F.Config(300))),
    # Six 5-minute readings, the river rising; the header names the last (seqs 18..23).
    ("water_level_batch_six", K1, F.Frame(0x0A000001, 3, 23, 1700001800,
                                          F.WaterLevelBatch(300, [2350, 2341, 2330, 2318, 2301, 2287], 86, 0))),
    ("water_level_batch_one", K1, F.Frame(0x0A000001, 3, 24, 1700002100, F.WaterLevelBatch(300, [2280], 86, 0))),
    # Sixteen readings across the u16 wrap (seqs 65530..9), two without an echo, battery low.
    ("water_level_batch_full_wrap_faults", K1, F.Frame(
        0x0A000001, 4, 9, 1700009000,
        F.WaterLevelBatch(60, [1200 - 10 * i if i not in (3, 11) else F.NO_READING for i in range(16)], 9,
                          F.WL_LOW_BATTERY))),
]


def _tagged(key: bytes, body: bytes) -> bytes:
    return body + hmac_sha256(key, body)[:6]


def _invalid(wl: bytes, sos_no_gps: bytes, batch: bytes) -> list[tuple[str, bytes, bytes, str]]:
    # A correctly tagged frame whose payload breaks a field rule (an SOS for 0 people).
    body = sos_no_gps[:-6]
    body = body[:15] + b"\x00" + body[16:]
    head = batch[:14]
    return [
        ("too_short", K1, wl[:19], "too_short"),
        ("bad_version", K1, b"\x02" + wl[1:], "bad_version"),
        ("unknown_type", K1, wl[:1] + b"\x7f" + wl[2:], "unknown_type"),
        ("bad_length", K1, wl[:-6] + b"\x00" + wl[-6:], "bad_length"),
        ("bad_tag_flipped_bit", K1, wl[:-1] + bytes([wl[-1] ^ 1]), "bad_tag"),
        ("wrong_key", K2, wl, "bad_tag"),
        ("payload_tampered", K1, wl[:14] + b"\x00\x01" + wl[16:], "bad_tag"),
        ("sos_zero_people", K2, _tagged(K2, body), "bad_value"),
        # Batches whose count byte disagrees with their length, correctly tagged.
        ("batch_count_mismatch", K1, _tagged(K1, head + b"\x05" + batch[15:-6]), "bad_length"),
        ("batch_of_none", K1, _tagged(K1, head + b"\x00\x01\x2c\x56\x00"), "bad_length"),
        ("batch_of_seventeen", K1, _tagged(K1, head + b"\x11\x00\x3c" + b"\x04\xb0" * 17 + b"\x56\x00"),
         "bad_length"),
    ]


def main() -> None:
    """Write protocol/vectors.json."""
    good = [{"name": n, "key": k.hex(), "hex": F.encode(f, k).hex(), "frame": F.to_fields(f)} for n, k, f in VALID]
    for v, (_n, _k, f) in zip(good, VALID, strict=True):
        if f.kind == "water_level_batch":  # what every tier must make of it: the single readings
            v["readings"] = [F.to_fields(r) for r in F.split_batch(f)]
    by_name = {v["name"]: bytes.fromhex(str(v["hex"])) for v in good}
    bad = _invalid(by_name["water_level_kim_long"], by_name["sos_trapped_no_gps"], by_name["water_level_batch_six"])
    doc = {
        "about": "floodmesh radio frame test vectors: every tier's codec must produce exactly these bytes "
        "and refuse the invalid ones with these reasons.",
        "version": 1,
        "tag_len": 6,
        "valid": good,
        "invalid": [{"name": n, "key": k.hex(), "hex": h.hex(), "reason": r} for n, k, h, r in bad],
    }
    out = Path(__file__).resolve().parents[1] / "protocol" / "vectors.json"
    out.write_text(json.dumps(doc, indent=1))
    for v in good:
        print(f"{v['name']}: {len(str(v['hex'])) // 2} bytes")


if __name__ == "__main__":
    main()
