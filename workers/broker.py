"""Kombu's Redis transport with one repair: a worker survives its broker going away.

When the broker's connection drops, Celery 5.7's consumer first collects the connection (the
transport forgets its client) and only then closes the channel, whose QoS puts the messages
it holds unacknowledged back on their queues — through the client it no longer has. The
AttributeError that follows is no connection error, so nothing catches it: "Unrecoverable
error", a traceback, and the worker exits instead of reconnecting (seen on every Redis restart
while a task was running).

The same happens when a task that was running at the drop finishes after the reconnection: it
is acknowledged on the old channel, the AttributeError escapes, and the worker exits.

Here, with the client gone, nothing is restored and nothing acknowledged: the messages stay in
Redis' unacked set until its visibility timeout, and are harmless then, since the deliveries'
leases decide who sends (a redelivered batch finds its rows taken). After a Redis restart there
is nothing left to restore or acknowledge anyway. With the client there (a warm shutdown, any
ordinary ack), kombu's own code runs.
"""

from __future__ import annotations

from typing import Any

from kombu.transport import redis as kombu_redis

TRANSPORT = "workers.broker:Transport"


class QoS(kombu_redis.QoS):
    def _gone(self) -> bool:
        """The channel's connection was collected after the broker went away."""
        return self.channel.connection is None or self.channel.connection.client is None

    def restore_unacked_once(self, stderr: Any = None) -> Any:
        if self._gone():
            self._on_collect.cancel()
            self._delivered.restored = True  # type: ignore[attr-defined]  # kombu's own marker
            return None
        return super().restore_unacked_once(stderr)

    def ack(self, delivery_tag: Any) -> None:
        # A task that was running when the connection dropped ends on the new connection, and
        # is acknowledged on the old channel: no longer possible, and no longer needed.
        if self._gone():
            self._delivered.pop(delivery_tag, None)
            return
        super().ack(delivery_tag)

    def reject(self, delivery_tag: Any, requeue: bool = False) -> None:
        if self._gone():
            self._delivered.pop(delivery_tag, None)
            return
        super().reject(delivery_tag, requeue=requeue)


class Channel(kombu_redis.Channel):
    QoS = QoS


class Transport(kombu_redis.Transport):
    Channel = Channel
