"""One SMPP 3.4 transceiver session to a telco's SMSC (the hub is the ESME), on aiosmpplib's
PDU classes: bind, an enquire_link keep-alive, reconnect with capped jittered backoff after the
SMSC drops, the telco's throughput window, receipts matched to the submitted message ids and
residents' messages handed to `on_message` (answered only once it returned: a failure asks the
SMSC to deliver again). Why not aiosmpplib's own ESME: docs/SMPP.md."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import structlog
from aiolimiter import AsyncLimiter
from aiosmpplib import (
    BindTransceiver,
    DeliverSm,
    DeliverSmResp,
    EnquireLink,
    EnquireLinkResp,
    OptionalParam,
    PhoneNumber,
    SmppCommand,
    SmppCommandStatus,
    SmppMessage,
    SubmitSm,
    SubmitSmResp,
    Unbind,
    UnbindResp,
)
from aiosmpplib.protocol import BindTransceiverResp, GenericNack
from aiosmpplib.utils import detect_format, split_sms_udh

log = structlog.get_logger("connectors.telco.session")

DEFAULT_ENCODING = "gsm0338"
SMSC_MESSAGE_ID_TAG = 0x1400  # vendor TLV: the SMSC's id of a resident's message (docs/SMPP.md)
SAR_REF, SAR_SEQ, SAR_TOTAL = 0x020C, 0x020F, 0x020E
HEADER = 16


class SmppFailure(Exception):
    """A submit that did not go through; `kind` is transient, throttled, refused or auth."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


@dataclass(frozen=True)
class MobileOriginated:
    """A resident's message as the SMSC delivered it (parts already joined)."""

    smsc_message_id: str
    source: str
    destination: str
    text: str


@dataclass
class SessionSettings:
    host: str
    port: int
    system_id: str
    password: str
    window: int = 10  # at most this many submits unanswered at once
    per_second: float = 50.0  # and at most this many per second
    enquire_link_s: float = 15.0
    response_timeout_s: float = 5.0
    backoff_initial_s: float = 0.1
    backoff_max_s: float = 5.0


@dataclass
class _Link:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    pending: dict[int, asyncio.Future[SmppMessage]] = field(default_factory=dict)


def backoff_s(attempt: int, initial: float, cap: float) -> float:
    """Capped exponential backoff with full jitter (never the same instant for every ESME)."""
    return random.uniform(initial / 2, min(cap, initial * 2 ** min(attempt, 20)))


class EsmeSession:
    """Keeps one bound transceiver link alive for as long as it runs."""

    def __init__(
        self,
        telco: str,
        settings: SessionSettings,
        on_message: Callable[[MobileOriginated], Awaitable[None]] | None = None,
    ) -> None:
        self.telco = telco
        self.settings = settings
        self.on_message = on_message
        self.receipts: dict[str, str] = {}  # SMSC message id -> final state (DELIVRD, ...)
        self.binds = 0
        self.last_error = ""
        self.bind_refused = False
        self._link: _Link | None = None
        self._bound = asyncio.Event()
        self._seq = itertools.count(1)
        self._window = asyncio.Semaphore(settings.window)
        self._limiter = AsyncLimiter(settings.per_second, 1.0)
        self._parts: dict[tuple[str, int], dict[int, str]] = {}
        self._task: asyncio.Task[None] | None = None
        self._reading: asyncio.Task[None] | None = None
        self._receipt_seen = asyncio.Condition()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"smpp-{self.telco}")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if self._link is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._request(self._link, Unbind()), 0.5)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._close()

    async def wait_bound(self, timeout_s: float) -> bool:
        self.start()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._bound.wait(), timeout_s)
        return self._bound.is_set()

    async def submit(self, source: str, destination: str, text: str) -> list[str]:
        """Send `text` (split into concatenated parts when long, UCS-2 unless GSM 03.38
        covers it); the SMSC message id of each part, or SmppFailure."""
        if not await self.wait_bound(self.settings.response_timeout_s):
            kind = "auth" if self.bind_refused else "transient"
            raise SmppFailure(kind, f"not bound to the SMSC ({self.last_error or 'connecting'})")
        ids = []
        for part in _parts(source, destination, text):
            async with self._window, self._limiter:
                link = self._link
                if link is None:
                    raise SmppFailure("transient", "the SMSC link dropped")
                resp = await self._request(link, part)
            if resp.command_status == SmppCommandStatus.ESME_RTHROTTLED:
                raise SmppFailure("throttled", "the SMSC throttled the submit")
            if resp.command_status != SmppCommandStatus.ESME_ROK:
                raise SmppFailure("refused", f"submit_sm refused: {resp.command_status.name}")
            assert isinstance(resp, SubmitSmResp)
            ids.append(resp.message_id)
        return ids

    async def receipt(self, message_id: str, timeout_s: float) -> str | None:
        """The final state the SMSC's receipt gave `message_id`, waiting up to `timeout_s`."""
        async with self._receipt_seen:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._receipt_seen.wait_for(lambda: message_id in self.receipts), timeout_s
                )
        return self.receipts.get(message_id)

    async def _run(self) -> None:
        attempt = 0
        while True:
            try:
                link = await self._connect_and_bind()
                attempt = 0
                await self._serve(link)
            except (OSError, asyncio.IncompleteReadError, TimeoutError, SmppFailure) as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"
            self._close()
            delay = backoff_s(attempt, self.settings.backoff_initial_s, self.settings.backoff_max_s)
            attempt += 1
            log.info(
                "smpp.reconnecting", telco=self.telco, in_s=round(delay, 3), reason=self.last_error
            )
            await asyncio.sleep(delay)

    async def _connect_and_bind(self) -> _Link:
        s = self.settings
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(s.host, s.port), s.response_timeout_s
        )
        link = self._link = _Link(reader, writer)
        reading = asyncio.create_task(self._read(link))
        try:
            resp = await self._request(
                link, BindTransceiver(system_id=s.system_id, password=s.password)
            )
        except BaseException:
            reading.cancel()
            raise
        if resp.command_status != SmppCommandStatus.ESME_ROK:
            reading.cancel()
            self.bind_refused = True
            raise SmppFailure("auth", f"bind refused: {resp.command_status.name}")
        self.bind_refused = False
        self.binds += 1
        self._reading = reading
        self._bound.set()
        log.info("smpp.bound", telco=self.telco, host=s.host, port=s.port, binds=self.binds)
        return link

    async def _serve(self, link: _Link) -> None:
        """Keep the link alive with enquire_link until the reader sees it end."""
        reading = self._reading
        assert reading is not None
        while not reading.done():
            done, _ = await asyncio.wait({reading}, timeout=self.settings.enquire_link_s)
            if not done:
                await self._request(link, EnquireLink())
        reading.result()

    async def _request(self, link: _Link, message: SmppMessage) -> SmppMessage:
        message.sequence_num = next(self._seq)
        if isinstance(message, SubmitSm):
            message.set_encoding_info(DEFAULT_ENCODING, None)
        future: asyncio.Future[SmppMessage] = asyncio.get_running_loop().create_future()
        link.pending[message.sequence_num] = future
        try:
            link.writer.write(message.pdu())
            await link.writer.drain()
            return await asyncio.wait_for(future, self.settings.response_timeout_s)
        except (OSError, TimeoutError) as exc:
            raise SmppFailure("transient", f"no answer from the SMSC ({exc!r})") from None
        finally:
            link.pending.pop(message.sequence_num, None)

    async def _read(self, link: _Link) -> None:
        while True:
            head = await link.reader.readexactly(HEADER)
            header = SmppMessage.parse_header(head)
            pdu = head + await link.reader.readexactly(header.pdu_length - HEADER)
            command = header.smpp_command
            if command & 0x80000000:
                message = _RESPONSES.get(command, GenericNack).from_pdu(pdu, header)
                future = link.pending.get(header.sequence_num)
                if future is not None and not future.done():
                    future.set_result(message)
            elif command == SmppCommand.ENQUIRE_LINK:
                link.writer.write(EnquireLinkResp(sequence_num=header.sequence_num).pdu())
            elif command == SmppCommand.UNBIND:
                link.writer.write(UnbindResp(sequence_num=header.sequence_num).pdu())
                raise SmppFailure("transient", "the SMSC unbound")
            elif command == SmppCommand.DELIVER_SM:
                deliver = DeliverSm.from_pdu(pdu, header, DEFAULT_ENCODING)
                assert isinstance(deliver, DeliverSm)
                status = await self._delivered(deliver)
                resp = DeliverSmResp(sequence_num=header.sequence_num, command_status=status)
                link.writer.write(resp.pdu())

    async def _delivered(self, deliver: DeliverSm) -> SmppCommandStatus:
        if deliver.is_receipt():
            receipt = deliver.parse_receipt()
            async with self._receipt_seen:
                self.receipts[str(receipt.get("id", ""))] = str(receipt.get("stat", ""))
                self._receipt_seen.notify_all()
            return SmppCommandStatus.ESME_ROK
        params = {p.tag: p.value for p in deliver.optional_params or []}
        smsc_id = str(params.get(SMSC_MESSAGE_ID_TAG, ""))
        text = deliver.short_message or deliver.message_payload
        if SAR_TOTAL in params:  # one part of a long message: wait for the rest
            key = (deliver.source.number, int(params[SAR_REF]))
            parts = self._parts.setdefault(key, {})
            parts[int(params[SAR_SEQ])] = text
            if len(parts) < int(params[SAR_TOTAL]):
                return SmppCommandStatus.ESME_ROK
            text = "".join(parts[i] for i in sorted(self._parts.pop(key)))
        if self.on_message is None:
            return SmppCommandStatus.ESME_ROK
        message = MobileOriginated(smsc_id, deliver.source.number, deliver.destination.number, text)
        try:
            await self.on_message(message)
        except Exception as exc:  # the SMSC keeps it and delivers again
            log.warning("smpp.deliver_failed", telco=self.telco, error=type(exc).__name__)
            return SmppCommandStatus.ESME_RX_T_APPN
        return SmppCommandStatus.ESME_ROK

    def _close(self) -> None:
        self._bound.clear()
        link, self._link = self._link, None
        if link is None:
            return
        for future in link.pending.values():
            if not future.done():
                future.set_exception(SmppFailure("transient", "the SMSC link dropped"))
        link.writer.close()


_RESPONSES: dict[int, type[SmppMessage]] = {
    SmppCommand.BIND_TRANSCEIVER_RESP: BindTransceiverResp,
    SmppCommand.SUBMIT_SM_RESP: SubmitSmResp,
    SmppCommand.ENQUIRE_LINK_RESP: EnquireLinkResp,
    SmppCommand.UNBIND_RESP: UnbindResp,
}


def _parts(source: str, destination: str, text: str) -> list[SubmitSm]:
    """One submit_sm, or concatenated parts (8-bit reference UDH) when the text is long."""
    encoding = detect_format(text)
    kwargs = {
        "source": PhoneNumber(source),
        "destination": PhoneNumber(destination),
        "registered_delivery": 1,
        "encoding": "ucs2" if encoding == "ucs2" else None,
    }
    chunks = split_sms_udh(text, encoding, random.randint(0, 255))
    if len(chunks) == 1:
        return [SubmitSm(short_message=text, **kwargs)]
    parts = []
    for chunk in chunks:
        part = SubmitSm(short_message=text, esm_class=0x40, **kwargs)
        part.encoding = encoding
        part.set_encoded_message(chunk)
        parts.append(part)
    return parts


__all__ = [
    "EsmeSession",
    "MobileOriginated",
    "OptionalParam",
    "SessionSettings",
    "SmppFailure",
    "backoff_s",
]
