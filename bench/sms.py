"""A burst of residents' parking SMS across the three telcos, through real SMPP on loopback:
`python -m bench.sms [--count 2000] [--broker-url ... --database-url ...]`.

A hub runtime and worker run in this process with the telcos' SMSC and ROP simulators; the
messages (English and Arabic, each from its own number, plates from ROP's register so some are
extensions) are injected as fast as the SMSCs take them, one thread per telco. A message's
reply time runs from its injection to the SMSC receiving the reply's last part; messages/s is
the count over the time from the first injection to the last reply. The telcos' throughput
windows (submits per second) and the agencies' rate limits apply, as in production."""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any, cast

from sqlalchemy import func, select

from bench.driver import percentile
from connectors.rop import data as rop_register
from hub.config import Settings
from hub.demo.sms import ARABIC_DIGITS, ARABIC_LETTER, CODES
from hub.observability import configure_logging
from hub.runtime.build import build_runtime
from hub.runtime.worker_thread import WorkerThread
from hub.store.tables import ParkingSmsRequest

TELCOS = ("omantel", "ooredoo", "friendi")


def messages(count: int) -> list[tuple[str, str, str]]:
    """(telco, msisdn, text) round the telcos, alternating English and Arabic."""
    cars = [v for v in rop_register.valid_vehicles() if set(v.plate_code) <= set(ARABIC_LETTER)]
    out = []
    for i in range(count):
        car, code, minutes = (
            cars[i % len(cars)],
            CODES[(i // len(cars)) % len(CODES)],
            30 + i % 4 * 30,
        )
        if i % 2:
            letters = " ".join(ARABIC_LETTER[c] for c in car.plate_code)
            number = car.plate_number.translate(ARABIC_DIGITS)
            text = f"{number} {letters} {code} {str(minutes).translate(ARABIC_DIGITS)} دقيقة"
        else:
            text = f"{car.plate_number} {car.plate_code} {code} {minutes}"
        out.append((TELCOS[i % len(TELCOS)], f"9689{i + 1:07d}", text))
    return out


def run(count: int, settings: Settings, timeout_s: float) -> dict[str, Any]:
    runtime = build_runtime(settings)
    worker = WorkerThread(runtime).start()
    try:
        smscs = {t: cast(Any, runtime.simulators[t].simulator).smsc for t in TELCOS}
        deadline = time.monotonic() + 30
        while not all(s.bound for s in smscs.values()) and time.monotonic() < deadline:
            time.sleep(0.05)
        burst = messages(count)
        injected: dict[str, float] = {}

        def inject(telco: str) -> None:
            for t, msisdn, text in burst:
                if t == telco:
                    injected[msisdn] = time.monotonic()
                    smscs[telco].inject(msisdn, text)

        threads = [threading.Thread(target=inject, args=(t,)) for t in TELCOS]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        injected_s = max(injected.values()) - min(injected.values())
        replies: dict[str, float] = {}
        end = time.monotonic() + timeout_s
        while len(replies) < count and time.monotonic() < end:  # bounded
            for smsc in smscs.values():
                for sent in list(smsc.submitted):
                    replies.setdefault(sent.destination, sent.at)
            time.sleep(0.2)
        with runtime.sessions() as session:
            outcomes = Counter(
                dict(
                    session.execute(
                        select(ParkingSmsRequest.outcome, func.count()).group_by(
                            ParkingSmsRequest.outcome
                        )
                    ).all()
                )
            )
    finally:
        worker.stop()
        runtime.close()
    first = min(injected.values())
    latencies = [(replies[m] - injected[m]) * 1000 for m in replies if m in injected]
    elapsed = max(replies.values()) - first if replies else float("nan")
    return {
        "count": count,
        "replied": len(replies),
        "injected_in_s": round(injected_s, 2),
        "elapsed_s": round(elapsed, 2),
        "messages_per_s": round(len(replies) / elapsed, 1) if replies else 0.0,
        "p50_reply_ms": round(percentile(latencies, 50), 1),
        "p95_reply_ms": round(percentile(latencies, 95), 1),
        "p99_reply_ms": round(percentile(latencies, 99), 1),
        "outcomes": dict(outcomes),
        "engines": "embedded" if settings.is_embedded else "rabbitmq+postgresql",
        "rate_limits": settings.rate_limits or "as shipped",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--broker-url", default=None)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--prefetch", type=int, default=8)
    parser.add_argument("--timeout", type=float, default=900.0, help="longest wait for replies")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument(
        "--lift-rate-limits",
        action="store_true",
        help="lift the agencies' per-worker call rates (as shipped, ROP's 20/s bounds the burst); "
        "the telcos' SMPP throughput windows still apply",
    )
    args = parser.parse_args()
    configure_logging("warning")
    with tempfile.TemporaryDirectory(prefix="bench-sms-") as data_dir:
        settings = Settings(
            data_dir=Path(data_dir),
            broker_url=args.broker_url,
            database_url=args.database_url,
            prefetch=args.prefetch,
            rate_limits={name: 0.0 for name in ("rop", *TELCOS)} if args.lift_rate_limits else {},
        )
        figures = run(args.count, settings, args.timeout)
    print(
        f"SMS burst ({figures['engines']}, rate limits {figures['rate_limits']}): "
        f"{figures['replied']}/{figures['count']} replied in "
        f"{figures['elapsed_s']} s: {figures['messages_per_s']} messages/s; reply time "
        f"p50 {figures['p50_reply_ms']} ms, p95 {figures['p95_reply_ms']} ms, "
        f"p99 {figures['p99_reply_ms']} ms; outcomes {figures['outcomes']}"
    )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
