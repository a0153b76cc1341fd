"""Uplinks from a JetStream work queue that every central replica pulls from (the NATS broker tier).

nats-server's MQTT listener turns each gateway's QoS 1 publish into a message on the NATS subject
``floodmesh.v1.<ward>.<gw>.up.<kind>``; the ``FLOODMESH_UPLINKS`` stream (work-queue retention,
replicated on 3 nodes) keeps them, and one durable pull consumer, ``central``, shared by every
replica, hands each message to exactly one of them. MQTT shared subscriptions do the same on
Mosquitto (central/ingest/mqtt_ingest.py); nats-server 2.9's MQTT listener has none.

A message is acknowledged to JetStream once it is in this replica's UplinkQueue, as paho does for
MQTT: the end-to-end guarantee is the gateway's, which keeps every uplink until central's app ack
(sent only after the commit) and resends it after ``retry_s``. A replica killed before its commit
therefore loses nothing: the gateway resends, the work queue hands it to a live replica, and
processing dedupes by (node, boot, seq). The pull loop runs on its own thread with its own asyncio
loop and never touches the store: it only hands (topic, payload) to ``deliver``.
"""

import asyncio
import logging
import ssl
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import nats
import nats.errors
import nats.js.errors
from nats.aio.msg import Msg
from nats.js import api

log = logging.getLogger(__name__)

STREAM = "FLOODMESH_UPLINKS"
CONSUMER = "central"
UPLINK_SUBJECT = "floodmesh.v1.*.*.up.*"
_FETCH_WAIT_S = 0.5


def subject_to_topic(subject: str) -> str:
    """The MQTT topic nats-server made ``subject`` from (floodmesh topics have no dots: see nats_config)."""
    return subject.replace(".", "/")


@dataclass(frozen=True)
class JetStreamSource:
    """Where the work queue is and who central is there (the same identity and CA as on MQTT)."""

    servers: tuple[str, ...]  # tls://host:port of every node: the client moves to another when one dies
    username: str | None
    password: str | None
    ca_file: Path | None
    replicas: int = 3  # of the stream: a node may die without losing a stored uplink
    batch: int = 500


def parse_servers(spec: str) -> tuple[str, ...]:
    """``"tls://a:4222,tls://b:4222"`` as a tuple of URLs."""
    servers = tuple(s.strip() for s in spec.split(",") if s.strip())
    for server in servers:
        if not server.startswith(("tls://", "nats://")) or server.count(":") < 2:
            raise ValueError(f"nats_servers entry {server!r}: write tls://HOST:PORT, comma-separated")
    return servers


class JetStreamUplinks:
    """Pulls uplinks from the shared work queue on a thread of its own and hands them to ``deliver``."""

    def __init__(self, source: JetStreamSource, deliver: Callable[[str, bytes], None]) -> None:
        self._source = source
        self._deliver = deliver
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="central-jetstream", daemon=True)
        self.received = 0
        self.errors = 0  # fetches that failed (a node dying, a leader election); retried

    def start(self) -> None:
        """Connect and start pulling in the background."""
        self._thread.start()

    def wait_ready(self, timeout_s: float) -> bool:
        """Block until the stream and the consumer exist and the first fetch is under way."""
        return self._ready.wait(timeout_s)

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop pulling; nothing taken is lost (see the module docstring)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        s = self._source
        tls = ssl.create_default_context(cafile=str(s.ca_file)) if s.ca_file is not None else None
        client = await nats.connect(servers=list(s.servers), tls=tls, user=s.username, password=s.password,
                                    max_reconnect_attempts=-1, reconnect_time_wait=0.5, name="floodmesh-central")
        try:
            js = client.jetstream()
            subscription = await self._subscribe(js)
            self._ready.set()
            while not self._stop.is_set():
                await self._pull(subscription)
        finally:
            await client.close()

    async def _subscribe(self, js: nats.js.JetStreamContext) -> nats.js.JetStreamContext.PullSubscription:
        s = self._source
        while True:
            try:
                await _ensure_stream(js, s.replicas)
                config = api.ConsumerConfig(ack_policy=api.AckPolicy.EXPLICIT, ack_wait=10.0, max_ack_pending=50_000)
                return await js.pull_subscribe(UPLINK_SUBJECT, durable=CONSUMER, stream=STREAM, config=config)
            except (nats.errors.Error, TimeoutError) as exc:  # no JetStream leader yet: wait for the cluster
                if self._stop.is_set():
                    raise
                self.errors += 1
                log.warning("JetStream not ready (%s); retrying: check that the NATS cluster has a quorum", exc)
                await asyncio.sleep(0.5)

    async def _pull(self, subscription: nats.js.JetStreamContext.PullSubscription) -> None:
        try:
            messages = await subscription.fetch(self._source.batch, timeout=_FETCH_WAIT_S)
        except (nats.errors.TimeoutError, TimeoutError):
            return  # nothing waiting
        except nats.errors.Error as exc:
            self.errors += 1
            log.warning("JetStream fetch failed (%s); retrying (a node may be down: the others take over)", exc)
            await asyncio.sleep(0.2)
            return
        for message in messages:
            self._deliver(subject_to_topic(message.subject), message.data)
        self.received += len(messages)
        await _ack_all(messages)


async def _ack_all(messages: Sequence[Msg]) -> None:
    for message in messages:
        try:
            await message.ack()
        except nats.errors.Error:
            pass  # JetStream redelivers after ack_wait; processing dedupes it


async def _ensure_stream(js: nats.js.JetStreamContext, replicas: int) -> None:
    try:
        await js.stream_info(STREAM)
        return
    except nats.js.errors.NotFoundError:
        pass
    config = api.StreamConfig(name=STREAM, subjects=[UPLINK_SUBJECT], retention=api.RetentionPolicy.WORK_QUEUE,
                              storage=api.StorageType.FILE, num_replicas=replicas)
    try:
        await js.add_stream(config)
    except nats.js.errors.BadRequestError:
        await js.stream_info(STREAM)  # another replica created it first
