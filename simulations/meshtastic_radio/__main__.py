"""Serve one simulated radio until interrupted: ``python -m simulations.meshtastic_radio [--pty]``.

Point any Meshtastic client at it, e.g. ``meshtastic --host 127.0.0.1:4403 --info`` or
``meshtastic --port /dev/pts/N --info``; or a gateway: ``floodmesh gateway --radio <the address shown>``.
"""

import argparse
import signal
import threading

from simulations.meshtastic_radio.device_state import KnownNode, default_device_state
from simulations.meshtastic_radio.radio import SimulatedMeshtasticRadio


def main(argv: list[str] | None = None) -> int:
    """Start the radio, print where it is, wait for Ctrl-C or SIGTERM."""
    parser = argparse.ArgumentParser(prog="python -m simulations.meshtastic_radio", description=__doc__)
    parser.add_argument("--pty", action="store_true", help="serve a serial port (a pty) instead of TCP")
    parser.add_argument("--port", type=int, default=4403, help="TCP port (default 4403, Meshtastic's)")
    parser.add_argument("--node-num", type=lambda s: int(s, 16), default=0x0F0000AA, help="node number, hex")
    parser.add_argument("--neighbour", action="append", default=[], metavar="HEX,LAT,LON",
                        help="a node in the node database, e.g. 0b000001,16.4705,107.5912 (repeatable)")
    args = parser.parse_args(argv)
    nodes = []
    for spec in args.neighbour:
        try:
            num, lat, lon = spec.split(",")
            nodes.append(KnownNode(int(num, 16), f"node {num}", num[-4:], float(lat), float(lon)))
        except ValueError:
            parser.error(f"--neighbour {spec!r}: give HEX,LAT,LON, e.g. 0b000001,16.4705,107.5912")
    state = default_device_state(args.node_num, nodes=nodes)
    radio = SimulatedMeshtasticRadio(args.node_num, port=args.port, link="pty" if args.pty else "tcp", state=state)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print(f"simulated Meshtastic radio !{args.node_num:08x} on {radio.address} (Ctrl-C to stop)", flush=True)
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        radio.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
