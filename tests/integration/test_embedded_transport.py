"""The embedded transport against its promises: routing across processes, leases that survive a
SIGKILL, acks that delete, competing consumers that never share a message, delays."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from kombu import Connection, Consumer, Exchange, Producer, Queue
from kombu.exceptions import ChannelError

import hub.bus  # noqa: F401  (registers the embedded alias)
from hub.bus.embedded import database_path
from hub.bus.embedded_store import StoreError, doorbell

pytestmark = pytest.mark.timeout(60)

REPO = Path(__file__).resolve().parents[2]
IN_EXCHANGE = Exchange("municipal.in", type="topic", durable=True)
PARKING_TYPE = "permit.parking.requested"


def inbound(routing_key: str = "#", name: str = "hub.inbound") -> Queue:
    return Queue(name, exchange=IN_EXCHANGE, routing_key=routing_key, durable=True)


@pytest.fixture
def db_file(tmp_path: Path) -> Path:
    return tmp_path / "var" / "broker.sqlite3"


@pytest.fixture
def url(db_file: Path) -> str:
    return f"embedded+sqlite:///{db_file}"


def rows(db_file: Path) -> int:
    """Rows left in the messages table, read without the transport."""
    with sqlite3.connect(db_file) as db:
        return int(db.execute("SELECT count(*) FROM messages").fetchone()[0])


def wait_for(check: Callable[[], Any], timeout_s: float, interval_s: float = 0.02) -> Any:
    """Poll `check` until it returns something truthy; None after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(interval_s)
    return None


def run_python(code: str, *args: str) -> subprocess.Popen[str]:
    """Start `code` in a fresh interpreter with the repo importable."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(proc: subprocess.Popen[str], timeout_s: float = 20.0) -> str:
    out, err = proc.communicate(timeout=timeout_s)
    assert proc.returncode == 0, err
    return out


def publish(url: str, body: Any, routing_key: str = PARKING_TYPE, **kwargs: Any) -> None:
    with Connection(url) as conn:
        Producer(conn.channel()).publish(
            body, exchange=IN_EXCHANGE, routing_key=routing_key, serializer="json", **kwargs
        )


def test_round_trip_routes_by_type_and_keeps_arabic_text(url: str, db_file: Path) -> None:
    event = {
        "type": PARKING_TYPE,
        "data": {"owner": "سالم بن خلفان البلوشي", "wilayat": "السيب", "plate": "12345 AB"},
    }
    received: list[Any] = []
    with Connection(url) as conn:
        channel = conn.channel()
        permits, licences = inbound("permit.#", "permits")(channel), inbound("licence.#", "lic")
        permits.declare()
        licences(channel).declare()
        Producer(channel).publish(
            json.dumps(event, ensure_ascii=False).encode("utf-8"),
            exchange=IN_EXCHANGE,
            routing_key=PARKING_TYPE,
            content_type="application/cloudevents+json",
            content_encoding="utf-8",
        )
        with Consumer(conn.channel(), [permits], callbacks=[lambda b, m: received.append(m)]):
            conn.drain_events(timeout=2)
        message = received[0]
        assert json.loads(message.body) == event
        assert message.content_type == "application/cloudevents+json"
        assert message.delivery_info["routing_key"] == PARKING_TYPE
        assert message.delivery_info["delivery_count"] == 1
        assert "x-delivery-count" not in message.headers
        assert licences(channel).get() is None  # licence.# does not match a permit type
        assert rows(db_file) == 1  # taken, not yet acked
        message.ack()
        assert rows(db_file) == 0


PUBLISH_WITH_OWN_BINDINGS = """
    import sys
    import hub.bus
    from kombu import Connection, Exchange, Producer, Queue
    ex = Exchange("municipal.in", type="topic", durable=True)
    with Connection(sys.argv[1]) as conn:
        producer = Producer(conn.channel())
        Queue("hub.inbound", exchange=ex, routing_key="#", durable=True)(producer.channel).declare()
        for n in range(int(sys.argv[2])):
            producer.publish({"n": n}, exchange=ex, routing_key="permit.parking.requested")
"""


def test_messages_published_in_another_process_are_consumed_here(url: str) -> None:
    finish(run_python(PUBLISH_WITH_OWN_BINDINGS, url, "5"))
    with Connection(url) as conn:
        channel = conn.channel()
        assert channel.queue_declare("hub.inbound", passive=True).message_count == 5
        got = [channel.basic_get("hub.inbound") for _ in range(6)]
        assert [m.payload["n"] for m in got[:5]] == [0, 1, 2, 3, 4]
        assert got[5] is None
        assert ("hub.inbound", "municipal.in", "#") in channel.list_bindings()


PUBLISH_ONLY = """
    import sys
    import hub.bus
    from kombu import Connection, Producer
    with Connection(sys.argv[1]) as conn:
        Producer(conn.channel()).publish(
            {"n": 1}, exchange="municipal.in", routing_key=sys.argv[2]
        )
"""


def test_bindings_declared_here_route_a_publish_from_another_process(url: str) -> None:
    with Connection(url) as conn:
        channel = conn.channel()
        permits = inbound("permit.#", "permits")(channel)
        permits.declare()
        finish(run_python(PUBLISH_ONLY, url, PARKING_TYPE))
        finish(run_python(PUBLISH_ONLY, url, "licence.renewal.requested"))  # matches nothing
        message = wait_for(permits.get, 2.0)
        assert message is not None and message.payload == {"n": 1}
        message.ack()
        assert permits.get() is None


TAKE_THEN_HANG = """
    import sys, time
    from pathlib import Path
    import hub.bus
    from kombu import Connection
    with Connection(sys.argv[1], transport_options={"visibility_timeout": 1.5}) as conn:
        channel = conn.channel()
        channel.basic_get("hub.inbound").ack()
        taken = channel.basic_get("hub.inbound")
        Path(sys.argv[2]).write_text(str(taken.payload["n"]))
        time.sleep(60)
"""


def test_a_message_taken_by_a_killed_consumer_comes_back_after_its_lease(
    url: str, db_file: Path, tmp_path: Path
) -> None:
    with Connection(url) as conn:
        inbound()(conn.channel()).declare()
    publish(url, {"n": 0})
    publish(url, {"n": 1})
    marker = tmp_path / "taken"
    consumer = run_python(TAKE_THEN_HANG, url, str(marker))
    try:
        assert wait_for(marker.exists, 10.0), consumer.stderr
        assert marker.read_text() == "1"
    finally:
        consumer.send_signal(signal.SIGKILL)
        consumer.communicate(timeout=5)
    assert consumer.returncode == -signal.SIGKILL
    assert rows(db_file) == 1  # the acked one is deleted; the taken one is kept

    with Connection(url, transport_options={"visibility_timeout": 1.5}) as conn:
        queue = inbound()(conn.channel())
        assert queue.get() is None  # still leased to the dead consumer
        message = wait_for(queue.get, 5.0)
        assert message is not None and message.payload == {"n": 1}
        assert message.delivery_info["delivery_count"] == 2
        assert message.delivery_info["redelivered"] is True
        assert message.headers["x-delivery-count"] == 1
        message.ack()
    assert rows(db_file) == 0


COMPETE = """
    import sys, time
    from pathlib import Path
    import hub.bus
    from kombu import Connection, Consumer, Queue
    url, ready, go = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    seen = []
    def on_message(body, message):
        seen.append(body["n"])
        time.sleep(0.003)  # a little work, so the two consumers interleave
        message.ack()
    with Connection(url) as conn:
        queue = Queue("hub.inbound", no_declare=True)
        with Consumer(conn.channel(), [queue], callbacks=[on_message], prefetch_count=1):
            ready.touch()
            deadline = time.monotonic() + 10
            while not go.exists() and time.monotonic() < deadline:
                time.sleep(0.01)
            idle_since = time.monotonic()
            while time.monotonic() - idle_since < 0.5 and time.monotonic() < deadline + 10:
                try:
                    conn.drain_events(timeout=0.1)
                    idle_since = time.monotonic()
                except TimeoutError:
                    pass
    print(" ".join(map(str, seen)))
"""


def test_two_competing_consumer_processes_get_each_message_exactly_once(
    url: str, db_file: Path, tmp_path: Path
) -> None:
    with Connection(url) as conn:
        inbound()(conn.channel()).declare()
        producer = Producer(conn.channel())
        for n in range(200):
            producer.publish({"n": n}, exchange=IN_EXCHANGE, routing_key=PARKING_TYPE)
    go = tmp_path / "go"
    ready = [tmp_path / "ready-a", tmp_path / "ready-b"]
    consumers = [run_python(COMPETE, url, str(r), str(go)) for r in ready]
    started = wait_for(
        lambda: all(
            r.exists() or c.poll() is not None for r, c in zip(ready, consumers, strict=True)
        ),
        15.0,
    )
    assert started and all(r.exists() for r in ready), [c.communicate()[1] for c in consumers]
    go.touch()
    shares = [[int(n) for n in finish(c, 30.0).split()] for c in consumers]

    everything = shares[0] + shares[1]
    assert sorted(everything) == list(range(200))  # none lost, none twice
    assert all(shares), "both consumers should have taken part"
    assert rows(db_file) == 0


def test_reject_with_requeue_is_visible_at_once_and_without_requeue_drops(
    url: str, db_file: Path
) -> None:
    with Connection(url) as conn:
        queue = inbound()(conn.channel())
        queue.declare()
        publish(url, {"n": 1})
        first = queue.get()
        first.requeue()
        again = queue.get()  # no lease to wait for
        assert again is not None and again.payload == {"n": 1}
        assert again.delivery_info["delivery_count"] == 2
        again.reject()
        assert queue.get() is None
    assert rows(db_file) == 0


def test_closing_a_channel_returns_its_unacked_messages_at_once(url: str) -> None:
    with Connection(url) as conn:
        inbound()(conn.channel()).declare()
    publish(url, {"n": 1})
    with Connection(url) as conn:
        assert inbound()(conn.channel()).get() is not None  # taken, never acked
    with Connection(url) as conn:
        message = inbound()(conn.channel()).get()
        assert message is not None and message.headers["x-delivery-count"] == 1


def test_a_delayed_message_is_invisible_until_its_time(url: str) -> None:
    with Connection(url) as conn:
        queue = inbound()(conn.channel())
        queue.declare()
        publish(url, {"n": "later"}, headers={"x-delay": 700})
        publish(url, {"n": "now"})
        started = time.monotonic()
        assert queue.get().payload == {"n": "now"}
        assert queue.get() is None
        later = wait_for(queue.get, 3.0)
        assert later is not None and later.payload == {"n": "later"}
        assert time.monotonic() - started >= 0.6


def test_a_delayed_message_to_the_default_exchange_reaches_the_queue(url: str) -> None:
    """The hub's redelivery publishes to "" with the queue's name as routing key."""
    with Connection(url) as conn:
        queue = inbound()(conn.channel())
        queue.declare()
        Producer(conn.channel()).publish(
            b"retry", exchange="", routing_key="hub.inbound", headers={"x-delay": 300}
        )
        assert queue.get() is None
        message = wait_for(queue.get, 3.0)
        assert message is not None and message.body == b"retry"


def test_declare_is_idempotent_and_purge_size_delete_work(url: str, db_file: Path) -> None:
    with Connection(url) as conn:
        channel = conn.channel()
        for _ in range(2):
            inbound()(channel).declare()
        assert channel.list_bindings() == [("hub.inbound", "municipal.in", "#")]
        for n in range(3):
            publish(url, {"n": n})
        leased = inbound()(channel).get()
        assert channel.queue_declare("hub.inbound", passive=True).message_count == 2
        assert channel.queue_purge("hub.inbound") == 2
        leased.ack()
        with pytest.raises(Exception, match="redeclare exchange"):
            channel.exchange_declare("municipal.in", type="direct")
        channel.queue_delete("hub.inbound")
        with pytest.raises(ChannelError):
            channel.queue_declare("hub.inbound", passive=True)
        assert channel.list_bindings() == []
    assert rows(db_file) == 0


@pytest.mark.parametrize(
    ("bad_url", "reason"),
    [
        ("embedded+sqlite:///relative/broker.sqlite3", "absolute"),
        ("embedded+sqlite://", "absolute"),
        ("embedded://", "must look like"),
        ("embedded+postgresql://localhost/db", "must look like"),
    ],
)
def test_a_bad_url_is_a_clear_error(bad_url: str, reason: str) -> None:
    with pytest.raises(StoreError, match=reason):
        Connection(bad_url).connect()


def test_the_url_names_an_absolute_file(db_file: Path) -> None:
    assert database_path(f"sqlite:///{db_file}") == db_file


def test_a_fanout_exchange_copies_to_every_bound_queue(url: str, db_file: Path) -> None:
    broadcast = Exchange("hub.broadcast", type="fanout", durable=True)
    with Connection(url) as conn:
        channel = conn.channel()
        queues = [Queue(name, exchange=broadcast)(channel) for name in ("a", "b")]
        for bound in queues:
            bound.declare()
        Producer(channel).publish({"n": 1}, exchange=broadcast, routing_key="anything")
        assert [bound.get().payload for bound in queues] == [{"n": 1}, {"n": 1}]
    assert rows(db_file) == 2  # one row per queue; unacked, so released on close, not lost


# Waiting: cheap looks between claims, doorbell in process, never past the caller's timeout ---


def consume_one(
    url: str, timeout_s: float, options: dict[str, Any] | None = None, **consumer: Any
) -> Any:
    """Wait in drain_events (the ConsumerMixin path) for one message of hub.inbound."""
    got: list[Any] = []
    with Connection(url, transport_options=options or {}) as conn:
        queue = inbound()(conn.channel())
        queue.declare()
        with Consumer(conn.channel(), [queue], callbacks=[lambda b, m: got.append(m)]):
            conn.drain_events(timeout=timeout_s)
            got[0].ack()
    return got[0]


PUBLISH_AFTER = """
    import sys, time
    import hub.bus
    from kombu import Connection, Exchange, Producer
    time.sleep(float(sys.argv[2]))
    with Connection(sys.argv[1]) as conn:
        Producer(conn.channel()).publish(
            {"n": "late"}, exchange=Exchange("municipal.in", type="topic", durable=True),
            routing_key="permit.parking.requested",
        )
"""


def test_a_waiting_consumer_gets_a_message_another_process_publishes_later(url: str) -> None:
    with Connection(url) as conn:
        inbound()(conn.channel()).declare()
    publisher = run_python(PUBLISH_AFTER, url, "0.5")  # after the consumer has gone quiet
    try:
        message = consume_one(url, timeout_s=15.0)
    finally:
        finish(publisher)
    assert message.payload == {"n": "late"}
    assert message.delivery_info["redelivered"] is False


def test_a_publish_in_the_same_process_wakes_the_consumer_before_its_next_poll(url: str) -> None:
    """polling_interval 30 s: only the doorbell can deliver within the 10 s timeout."""
    slow = {"polling_interval": 30, "min_polling_interval": 30}
    with Connection(url) as conn:
        inbound()(conn.channel()).declare()

    def later() -> None:
        time.sleep(0.3)
        publish(url, {"n": "rung"})

    thread = threading.Thread(target=later)
    thread.start()
    try:
        message = consume_one(url, timeout_s=10.0, options=slow)
    finally:
        thread.join()
    assert message.payload == {"n": "rung"}


def test_drain_events_gives_up_at_its_timeout_even_with_a_long_polling_interval(
    url: str,
) -> None:
    slow = {"polling_interval": 30, "min_polling_interval": 30}
    with Connection(url, transport_options=slow) as conn:
        queue = inbound()(conn.channel())
        queue.declare()
        with Consumer(conn.channel(), [queue], callbacks=[lambda b, m: None]):
            started = time.monotonic()
            with pytest.raises(TimeoutError):
                conn.drain_events(timeout=0.05)
            assert time.monotonic() - started < 5.0  # generous; the bench times it
            with pytest.raises(TimeoutError):
                conn.drain_events(timeout=0)


def test_an_idle_consumer_looks_without_claiming(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """No commit, nothing due: the write transaction (claim) is skipped, only the token read."""
    fast = {"polling_interval": 0.001, "min_polling_interval": 0.001}
    with Connection(url, transport_options=fast) as conn:
        queue = inbound()(conn.channel())
        queue.declare()
        channel = conn.channel()
        claims: list[str] = []
        looks: list[int] = []
        real_claim, real_token = channel.store.claim, channel.store.change_token
        monkeypatch.setattr(
            channel.store, "claim", lambda q, **kw: claims.append(q) or real_claim(q, **kw)
        )
        monkeypatch.setattr(channel.store, "change_token", lambda: looks.append(1) or real_token())
        with Consumer(channel, [queue], callbacks=[lambda b, m: None]):
            with pytest.raises(TimeoutError):
                conn.drain_events(timeout=0.5)
        assert len(looks) > 10  # it kept looking ...
        assert claims == ["hub.inbound"]  # ... but claimed once, when it first found it empty


def test_a_delayed_message_reaches_a_waiting_consumer_without_any_commit(url: str) -> None:
    """The delay ends with no commit to move the token: the due time must reopen the gate."""
    with Connection(url) as conn:
        inbound()(conn.channel()).declare()
    publish(url, {"n": "later"}, headers={"x-delay": 400})
    message = consume_one(url, timeout_s=10.0, options={"polling_interval": 0.05})
    assert message.payload == {"n": "later"}


def test_a_lapsed_lease_reaches_a_waiting_consumer_as_a_redelivery(url: str) -> None:
    short = {"visibility_timeout": 0.5}
    with Connection(url, transport_options=short) as holder:
        queue = inbound()(holder.channel())
        queue.declare()
        publish(url, {"n": 1})
        assert queue.get() is not None  # leased, never acked, holder still open
        message = consume_one(url, timeout_s=10.0, options=short)
    assert message.payload == {"n": 1}
    assert message.delivery_info["redelivered"] is True
    assert message.headers["x-delivery-count"] == 1


def test_a_publish_on_the_consuming_channel_itself_is_delivered(url: str) -> None:
    """Its own commit does not move its data_version: total_changes must reopen the gate
    after the queue was found empty (with a 30 s poll, a miss shows as a timeout)."""
    slow = {"polling_interval": 30, "min_polling_interval": 30}
    got: list[Any] = []
    with Connection(url, transport_options=slow) as conn:
        channel = conn.channel()
        queue = inbound()(channel)
        queue.declare()
        with Consumer(channel, [queue], callbacks=[lambda b, m: got.append(m)]):
            with pytest.raises(TimeoutError):
                conn.drain_events(timeout=0.05)  # found empty: the gate closes
            Producer(channel).publish({"n": "own"}, exchange=IN_EXCHANGE, routing_key=PARKING_TYPE)
            conn.drain_events(timeout=10.0)
            got[0].requeue()  # released on the same connection: deliverable again
            conn.drain_events(timeout=10.0)
    assert [m.payload for m in got] == [{"n": "own"}] * 2
    assert [m.delivery_info["redelivered"] for m in got] == [False, True]


def test_a_consumer_at_its_prefetch_limit_takes_the_next_message_once_it_acks(
    url: str,
) -> None:
    """At the limit it waits the long interval (30 s here); the ack, a commit in this process
    from another thread, rings the doorbell and the next message follows at once."""
    slow = {"polling_interval": 30, "min_polling_interval": 30}
    got: list[Any] = []
    with Connection(url, transport_options=slow) as conn:
        queue = inbound()(conn.channel())
        queue.declare()
        publish(url, {"n": 1})
        publish(url, {"n": 2})
        channel = conn.channel()
        with Consumer(channel, [queue], callbacks=[lambda b, m: got.append(m)], prefetch_count=1):
            conn.drain_events(timeout=10.0)
            assert not channel.qos.can_consume()
            acker = threading.Timer(0.3, got[0].ack)
            acker.start()
            try:
                conn.drain_events(timeout=10.0)
            finally:
                acker.join()
        assert [m.payload for m in got] == [{"n": 1}, {"n": 2}]
        got[1].ack()


def test_a_failed_claim_is_raised_and_the_next_drain_tries_again(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Connection(url) as conn:
        queue = inbound()(conn.channel())
        queue.declare()
        publish(url, {"n": 1})
        channel = conn.channel()
        real_claim = channel.store.claim
        failures = [sqlite3.OperationalError("database is locked")]

        def flaky(queue_name: str, **kwargs: Any) -> Any:
            if failures:
                raise failures.pop()
            return real_claim(queue_name, **kwargs)

        monkeypatch.setattr(channel.store, "claim", flaky)
        got: list[Any] = []
        with Consumer(channel, [queue], callbacks=[lambda b, m: got.append(m)]):
            with pytest.raises(sqlite3.OperationalError):
                conn.drain_events(timeout=5.0)
            conn.drain_events(timeout=5.0)  # not mistaken for "found empty"
        assert got[0].payload == {"n": 1}
        got[0].ack()


@pytest.mark.parametrize("key", ["polling_interval", "min_polling_interval"])
@pytest.mark.parametrize("value", [0, -1, "soon"])
def test_a_polling_interval_that_is_not_a_positive_number_is_refused(
    url: str, key: str, value: Any
) -> None:
    with pytest.raises(StoreError, match=key):
        Connection(url, transport_options={key: value}).connect()


def test_the_wait_grows_with_the_quiet_time_within_its_bounds(url: str) -> None:
    with Connection(url, transport_options={"polling_interval": 0.02}) as conn:
        transport = conn.transport
        assert transport.wait_s(0.0) == transport.min_polling_interval == 0.001
        assert transport.wait_s(0.5) == pytest.approx(0.01)
        assert transport.wait_s(3600.0) == 0.02
    with Connection(url, transport_options={"polling_interval": 0.0005}) as conn:
        assert conn.transport.wait_s(0.0) == 0.0005  # the floor never exceeds the ceiling


def test_the_doorbell_wait_ends_when_rung_and_not_before(db_file: Path) -> None:
    bell = doorbell(db_file)
    assert bell is doorbell(db_file.parent / ".." / db_file.parent.name / db_file.name)
    seen = bell.rings
    assert bell.wait(seen, 0.01) is False
    bell.ring()
    assert bell.wait(seen, 30.0) is True  # already rung: no sleep
