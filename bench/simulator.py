"""The ROP simulator in a process of its own, so its CPU never competes with the driver's
publishing or the measured worker's interpreter.

    python -m bench.simulator PORT    (the benchmark starts it)
"""

from __future__ import annotations

import signal
import sys
import threading

from connectors.rop.simulator import RopSimulator
from hub.serving import LoopbackServer


def main(port: int) -> None:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    server = LoopbackServer(RopSimulator().app, port=port).start()
    print(f"rop simulator on {server.url}", flush=True)
    stop.wait()
    server.stop()


if __name__ == "__main__":
    main(int(sys.argv[1]))
