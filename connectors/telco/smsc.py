"""A telco's SMSC on loopback, speaking real SMPP 3.4 over TCP (aiosmpplib's PDUs), in its own
thread and event loop: binds as transceiver, answers submit_sm and sends a receipt for each,
delivers residents' messages (`inject`) as deliver_sm, and plays the faults an SMSC has."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from aiosmpplib import (
    BindTransceiverResp,
    DeliverSm,
    EnquireLinkResp,
    OptionalParam,
    PhoneNumber,
    SmppCommand,
    SmppCommandStatus,
    SmppMessage,
    SubmitSm,
    SubmitSmResp,
    UnbindResp,
)
from aiosmpplib.protocol import BindTransceiver

from connectors.telco.session import (
    DEFAULT_ENCODING,
    HEADER,
    SAR_REF,
    SAR_TOTAL,
    SMSC_MESSAGE_ID_TAG,
)

SMPP_FAULTS = (
    "none",
    "drop",
    "throttle",
    "refuse-binds",
    "outage",  # the SMSC is down: every link dropped and binds refused until "none"
    "duplicate",
    "delay-receipts",
)


@dataclass(frozen=True)
class Submitted:
    """A message the ESME sent, as the SMSC received it (parts joined)."""

    message_ids: tuple[str, ...]
    source: str
    destination: str
    text: str
    parts: int
    ucs2: bool
    at: float = field(default_factory=time.monotonic)  # when the last part arrived (bench)


class SmscSimulator:
    """One SMSC; thread-safe `inject`, `set_smpp_fault` and `submitted` for tests and the CLI."""

    def __init__(self, system_id: str, password: str, short_code: str = "90091") -> None:
        self.system_id = system_id
        self.password = password
        self.short_code = short_code
        self.smpp_fault = "none"
        self.receipt_delay_s = 2.0
        self.submitted: list[Submitted] = []
        self.binds = 0
        self._ids = itertools.count(1)
        self._mo_ids = itertools.count(1)
        # Ids unique across restarts too, as a real SMSC's are: the hub keys messages on them.
        self._instance = secrets.token_hex(4)
        self._sessions: set[asyncio.StreamWriter] = set()
        self._seq = itertools.count(1)
        self._pending: dict[tuple[str, int], dict[int, SubmitSm]] = {}
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self.port: int = self._sock.getsockname()[1]
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._main, name=f"smsc-{self.port}", daemon=True)
        self._thread.start()
        self._ready.wait(5.0)

    def _main(self) -> None:
        asyncio.set_event_loop(self._loop)

        async def serve() -> None:
            self._server = await asyncio.start_server(self._session, sock=self._sock)
            self._ready.set()

        self._loop.run_until_complete(serve())
        self._loop.run_forever()

    def close(self) -> None:
        def stop() -> None:
            self._server.close()
            for writer in list(self._sessions):
                writer.close()
            self._loop.stop()

        self._loop.call_soon_threadsafe(stop)
        self._thread.join(2.0)

    def set_smpp_fault(self, mode: str) -> None:
        if mode not in SMPP_FAULTS:
            raise ValueError(f"unknown SMPP fault {mode!r}; one of {', '.join(SMPP_FAULTS)}")
        self.smpp_fault = mode
        if mode in ("drop", "outage"):
            self._loop.call_soon_threadsafe(self._drop_all)

    def _drop_all(self) -> None:
        for writer in list(self._sessions):
            writer.close()

    @property
    def bound(self) -> int:
        return len(self._sessions)

    def inject(self, msisdn: str, text: str, timeout_s: float = 5.0) -> str:
        """Deliver a resident's message to the bound ESME; the SMSC's id of it."""
        smsc_id = f"MO{next(self._mo_ids):08d}-{self._instance}"
        future = asyncio.run_coroutine_threadsafe(self._deliver(msisdn, text, smsc_id), self._loop)
        future.result(timeout_s)
        return smsc_id

    async def _deliver(self, msisdn: str, text: str, smsc_id: str) -> None:
        if not self._sessions:
            raise ConnectionError("no ESME is bound to this SMSC")
        writer = next(iter(self._sessions))
        times = 2 if self.smpp_fault == "duplicate" else 1
        for _ in range(times):
            deliver = DeliverSm(
                sequence_num=next(self._seq),
                short_message=text,
                source=PhoneNumber(msisdn),
                destination=PhoneNumber(self.short_code),
                encoding=None,
                optional_params=[OptionalParam(SMSC_MESSAGE_ID_TAG, smsc_id)],
            )
            deliver.set_encoding_info(DEFAULT_ENCODING, None)
            writer.write(deliver.pdu())
        await writer.drain()

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        bound = False
        try:
            while True:
                head = await reader.readexactly(HEADER)
                header = SmppMessage.parse_header(head)
                pdu = head + await reader.readexactly(header.pdu_length - HEADER)
                command, seq = header.smpp_command, header.sequence_num
                if command == SmppCommand.BIND_TRANSCEIVER:
                    bind = BindTransceiver.from_pdu(pdu, header)
                    assert isinstance(bind, BindTransceiver)
                    ok = (
                        self.smpp_fault not in ("refuse-binds", "outage")
                        and bind.system_id == self.system_id
                        and bind.password == self.password
                    )
                    status = SmppCommandStatus.ESME_ROK if ok else SmppCommandStatus.ESME_RBINDFAIL
                    writer.write(BindTransceiverResp(seq, status, system_id="SMSC").pdu())
                    if ok:
                        bound = True
                        self.binds += 1
                        self._sessions.add(writer)
                elif command == SmppCommand.ENQUIRE_LINK:
                    writer.write(EnquireLinkResp(seq).pdu())
                elif command == SmppCommand.UNBIND:
                    writer.write(UnbindResp(seq).pdu())
                    break
                elif command == SmppCommand.SUBMIT_SM and bound:
                    submit = SubmitSm.from_pdu(pdu, header, DEFAULT_ENCODING)
                    assert isinstance(submit, SubmitSm)
                    writer.write(self._submitted(seq, submit, writer).pdu())
                # deliver_sm_resp and anything else: nothing to answer
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            pass
        finally:
            self._sessions.discard(writer)
            writer.close()

    def _submitted(self, seq: int, submit: SubmitSm, writer: asyncio.StreamWriter) -> SmppMessage:
        if self.smpp_fault == "throttle":
            return SubmitSmResp(sequence_num=seq, command_status=SmppCommandStatus.ESME_RTHROTTLED)
        message_id = f"{next(self._ids):010d}"
        params = {p.tag: p.value for p in submit.optional_params or []}
        if SAR_TOTAL in params:
            key = (submit.destination.number, int(params[SAR_REF]))
            parts = self._pending.setdefault(key, {})
            parts[len(parts) + 1] = submit
            if len(parts) == int(params[SAR_TOTAL]):
                joined = [parts[i] for i in sorted(self._pending.pop(key))]
                self._record(joined, submit)
        else:
            self._record([submit], submit)
        asyncio.get_running_loop().create_task(self._receipt(writer, message_id, submit))
        return SubmitSmResp(sequence_num=seq, message_id=message_id)

    def _record(self, parts: list[SubmitSm], last: SubmitSm) -> None:
        self.submitted.append(
            Submitted(
                message_ids=(),
                source=last.source.number,
                destination=last.destination.number,
                text="".join(p.short_message for p in parts),
                parts=len(parts),
                ucs2=last.encoding == "ucs2",
            )
        )

    async def _receipt(
        self, writer: asyncio.StreamWriter, message_id: str, submit: SubmitSm
    ) -> None:
        if self.smpp_fault == "delay-receipts":
            await asyncio.sleep(self.receipt_delay_s)
        now = datetime.now(UTC)
        text = DeliverSm.encode_receipt(
            {
                "id": message_id,
                "sub": 1,
                "dlvrd": 1,
                "submit date": now,
                "done date": now,
                "stat": "DELIVRD",
                "err": 0,
                "text": "",
            }
        )
        receipt = DeliverSm(
            sequence_num=next(self._seq),
            short_message=text,
            source=PhoneNumber(submit.destination.number),
            destination=PhoneNumber(submit.source.number),
            esm_class=0x04,
        )
        receipt.set_encoding_info(DEFAULT_ENCODING, None)
        with contextlib.suppress(ConnectionError, OSError, RuntimeError):
            writer.write(receipt.pdu())
            await writer.drain()

    def texts_to(self, msisdn: str) -> Iterator[Submitted]:
        return (s for s in list(self.submitted) if s.destination == msisdn)
