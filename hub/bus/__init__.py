"""The message bus: consumer, publisher, redelivery and outbox relay on any kombu transport.

Importing this package registers the ``embedded`` alias, so ``kombu.Connection(
"embedded+sqlite:////abs/path/broker.sqlite3")`` selects the hub's broker-less transport
(`hub.bus.embedded`) without importing it until it is used.
"""

from kombu.transport import TRANSPORT_ALIASES

TRANSPORT_ALIASES.setdefault("embedded", "hub.bus.embedded:Transport")
