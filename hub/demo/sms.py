"""The demo's SMS parking part: residents text the short code through each telco's SMSC
simulator (real SMPP on loopback), in English and in Arabic, one of them twice to extend, one
of them nonsense; the replies are read from what each SMSC was asked to send."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from sqlalchemy import select

from connectors.rop import data as rop_register
from hub.flows.sms_parking_rules import PLATE_LETTERS
from hub.runtime.build import HubRuntime
from hub.runtime.sms_inbound import received_id
from hub.store.tables import ParkingSmsRequest

TELCOS = ("omantel", "ooredoo", "friendi")
ARABIC_LETTER = {latin: arabic for arabic, latin in reversed(PLATE_LETTERS.items())}
ARABIC_DIGITS = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
CODES = ("P101", "P102", "P201", "P202", "P301")
LANGUAGES = {"en": "English", "ar": "Arabic"}


class Sent(Protocol):
    @property
    def text(self) -> str: ...


@runtime_checkable
class SimulatedSmsc(Protocol):
    """What the demo uses of a telco simulator's SMSC (connectors/telco/smsc.py)."""

    @property
    def bound(self) -> int: ...

    def inject(self, msisdn: str, text: str) -> str: ...

    def texts_to(self, msisdn: str) -> Iterator[Sent]: ...


@dataclass
class SmsCase:
    """One resident's message, and (once the demo ran) the reply and what the hub recorded."""

    telco: str
    msisdn: str
    text: str
    language: str
    second: bool = False  # sent once the first messages were answered (an extension)
    smsc_id: str = ""
    reply: str = ""
    outcome: str = ""

    @property
    def scenario(self) -> str:
        return f"{LANGUAGES[self.language]} via {self.telco}"


def _english(v: rop_register.Vehicle, code: str, minutes: int) -> str:
    return f"{v.plate_number} {v.plate_code} {code} {minutes}"


def _arabic(v: rop_register.Vehicle, code: str, minutes: int) -> str:
    letters = " ".join(ARABIC_LETTER[c] for c in v.plate_code)
    number = v.plate_number.translate(ARABIC_DIGITS)
    return f"موقف {code} لوحة {number} {letters} {str(minutes).translate(ARABIC_DIGITS)} دقيقة"


def sms_cases(run_id: str) -> list[SmsCase]:
    """An English and an Arabic booking through each telco, an Arabic extension, and one
    message nobody could read; plates and numbers differ from run to run."""
    rng = random.Random(f"demo-sms-{run_id}")
    usable = [v for v in rop_register.valid_vehicles() if set(v.plate_code) <= set(ARABIC_LETTER)]
    cars = rng.sample(usable, 2 * len(TELCOS))
    prefix = f"9689{int(run_id, 16) % 10**5:05d}"
    cases = []
    for index, telco in enumerate(TELCOS):
        for offset, (language, write) in enumerate((("en", _english), ("ar", _arabic))):
            n = 2 * index + offset
            text = write(cars[n], rng.choice(CODES), rng.choice((30, 60, 90, 120)))
            cases.append(SmsCase(telco, f"{prefix}{n + 11:02d}", text, language))
    extend = cases[3]  # the Arabic booking through ooredoo, sent again
    cases.append(SmsCase(extend.telco, extend.msisdn, extend.text, "ar", second=True))
    cases.append(SmsCase("friendi", f"{prefix}99", "parking please", "en"))
    return cases


class SmsDemo:
    """Sends the cases through the telcos' SMSC simulators of this runtime and waits for the
    replies; nothing happens when the telcos are not simulated here."""

    def __init__(self, runtime: HubRuntime, cases: list[SmsCase]) -> None:
        self._runtime = runtime
        self._smscs: dict[str, SimulatedSmsc] = {}
        for telco in TELCOS:
            running = runtime.simulators.get(telco)
            smsc = getattr(running.simulator, "smsc", None) if running else None
            if isinstance(smsc, SimulatedSmsc):
                self._smscs[telco] = smsc
        self.cases = cases if len(self._smscs) == len(TELCOS) else []

    def run(self, timeout_s: float, on_progress: Callable[[int], None]) -> list[SmsCase]:
        deadline = time.monotonic() + timeout_s
        while self.cases and time.monotonic() < deadline:  # bounded: each telco binds
            if all(smsc.bound for smsc in self._smscs.values()):
                break
            time.sleep(0.1)
        for second in (False, True):  # the extension once its booking was answered
            batch = [c for c in self.cases if c.second == second]
            for case in batch:
                case.smsc_id = self._smscs[case.telco].inject(case.msisdn, case.text)
            while time.monotonic() < deadline and not all(self._replied(c) for c in batch):
                on_progress(sum(1 for c in self.cases if c.reply))
                time.sleep(0.1)
        on_progress(sum(1 for c in self.cases if c.reply))
        self._outcomes()
        return self.cases

    def _replied(self, case: SmsCase) -> bool:
        """The reply to `case`: the n-th text this SMSC sent its sender, n its place among
        the messages from that sender."""
        if case.reply:
            return True
        before = [c for c in self.cases if c.msisdn == case.msisdn]
        sent = list(self._smscs[case.telco].texts_to(case.msisdn))
        place = before.index(case)
        if len(sent) > place:
            case.reply = sent[place].text
        return bool(case.reply)

    def _outcomes(self) -> None:
        ids = {received_id(c.telco, c.smsc_id): c for c in self.cases if c.smsc_id}
        with self._runtime.sessions() as session:
            rows: Any = session.execute(
                select(ParkingSmsRequest.message_id, ParkingSmsRequest.outcome).where(
                    ParkingSmsRequest.message_id.in_(ids)
                )
            )
            for message_id, outcome in rows:
                ids[message_id].outcome = outcome
