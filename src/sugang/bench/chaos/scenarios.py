"""The faults, each injected at a fixed moment of the rush (`at`, seconds after it began)
and, where it has an end, undone as Kubernetes or the database's operator would. Anything
that blocks runs in a thread: the students' event loop must go on meanwhile."""

import asyncio
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import aiohttp

from sugang.bench.chaos.topology import Topology

Clock = Callable[[], float]


@dataclass
class Fault:
    started: float | None = None  # on the rush's clock
    ended: float | None = None
    notes: list[str] = field(default_factory=list)
    readiness_probes: int = 0
    readiness_failures: int = 0  # /readyz answers other than 200 during a pool storm


Injection = Callable[[Topology, Clock, float, Fault], Awaitable[None]]


async def _until(clock: Clock, at: float) -> None:
    await asyncio.sleep(max(0.0, at - clock()))


async def replica_kill(topology: Topology, clock: Clock, at: float, fault: Fault) -> None:
    """SIGKILL one API replica; it is started again 5 s later, as a kubelet restarts a pod."""
    await _until(clock, at)
    node = topology.nodes[0]
    fault.started = clock()
    topology.replicas[node.name].kill(signal.SIGKILL)
    await asyncio.to_thread(topology.replicas[node.name].wait_for_exit)
    await asyncio.sleep(5)
    topology.restart_replica(node)
    await topology.wait_ready(node)
    fault.ended = clock()


async def rolling_restart(topology: Topology, clock: Clock, at: float, fault: Fault) -> None:
    """SIGTERM each replica in turn, waiting for it to be ready again before the next, the
    way a rollout replaces pods."""
    await _until(clock, at)
    fault.started = clock()
    for node in topology.nodes:
        replica = topology.replicas[node.name]
        await asyncio.to_thread(replica.stop)  # it finishes what is in flight first
        topology.restart_replica(node)
        await topology.wait_ready(node)
        await asyncio.sleep(1)  # HAProxy's checks let it back in (two good ones, 0.5 s apart)
    fault.ended = clock()


async def node_cut(topology: Topology, clock: Clock, at: float, fault: Fault) -> None:
    """A node's link down for 15 s, then up: the node is gone from the network, its replica
    with it (and cut off from the databases)."""
    assert topology.network is not None
    await _until(clock, at)
    node = topology.nodes[0]
    fault.started = clock()
    topology.network.cut(node)
    await asyncio.sleep(15)
    topology.network.restore(node)
    fault.ended = clock()


async def link_loss(topology: Topology, clock: Clock, at: float, fault: Fault) -> None:
    """A node receives only 80% of its packets for 15 s (iptables' statistic match; this
    kernel has no netem, so no delay can be added)."""
    assert topology.network is not None
    await _until(clock, at)
    node = topology.nodes[0]
    fault.started = clock()
    topology.network.lose_packets(node, 0.2)
    await asyncio.sleep(15)
    topology.network.stop_losing(node)
    fault.ended = clock()


async def redis_failover(topology: Topology, clock: Clock, at: float, fault: Fault) -> None:
    """SIGKILL the Redis primary; the sentinels promote the replica."""
    assert topology.redis is not None
    await _until(clock, at)
    old = topology.redis.master_port()
    fault.started = clock()
    await asyncio.to_thread(topology.redis.kill_master)
    await asyncio.to_thread(topology.redis.wait_for_new_master, old or 0)
    fault.ended = clock()
    fault.notes.append(
        f"the sentinels promoted the replica after {fault.ended - fault.started:.1f} s"
    )


async def redis_outage(topology: Topology, clock: Clock, at: float, fault: Fault) -> None:
    """All of Redis down for 15 s, then started again (empty: nothing is kept on disk)."""
    assert topology.redis is not None
    await _until(clock, at)
    fault.started = clock()
    await asyncio.to_thread(topology.redis.stop_data)
    await asyncio.sleep(15)
    topology.redis.start_data()
    fault.ended = clock()


async def pg_failover(topology: Topology, clock: Clock, at: float, fault: Fault) -> None:
    """SIGKILL the PostgreSQL primary; 3 s later the standby is promoted, as the operator
    (CloudNativePG) does once it has seen the primary gone."""
    assert topology.postgres is not None
    await _until(clock, at)
    fault.started = clock()
    await asyncio.to_thread(topology.postgres.kill_primary)
    await asyncio.sleep(3)
    await asyncio.to_thread(topology.postgres.promote_standby)
    fault.ended = clock()


async def pg_restart(topology: Topology, clock: Clock, at: float, fault: Fault) -> None:
    """The primary restarted (fast shutdown: every session terminated)."""
    assert topology.postgres is not None
    await _until(clock, at)
    fault.started = clock()
    await asyncio.to_thread(topology.postgres.restart_primary)
    fault.ended = clock()


async def pool_storm(topology: Topology, clock: Clock, at: float, fault: Fault) -> None:
    """For 10 s, 1,000 more clients than the pools hold ask for their enrollments, and every
    replica's /readyz is probed twice a second: readiness must never flap."""
    await _until(clock, at)
    fault.started = clock()
    stop_at = time.monotonic() + 10
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=0), timeout=aiohttp.ClientTimeout(total=30)
    ) as http:

        async def storm() -> None:
            while time.monotonic() < stop_at:
                try:
                    async with http.get(f"{topology.url}/api/v1/terms/current") as answer:
                        await answer.read()
                except (aiohttp.ClientError, TimeoutError):
                    await asyncio.sleep(0.1)

        async def probe() -> None:
            while time.monotonic() < stop_at:
                for node in topology.nodes:
                    fault.readiness_probes += 1
                    try:
                        async with http.get(f"{topology.node_url(node)}/readyz") as answer:
                            ok = answer.status == 200
                    except (aiohttp.ClientError, TimeoutError):
                        ok = False
                    fault.readiness_failures += not ok
                await asyncio.sleep(0.5)

        await asyncio.gather(probe(), *(storm() for _ in range(1000)))
    fault.ended = clock()


SCENARIOS: dict[str, Injection] = {
    "replica-kill": replica_kill,
    "rolling-restart": rolling_restart,
    "node-cut": node_cut,
    "redis-failover": redis_failover,
    "redis-outage": redis_outage,
    "pg-failover": pg_failover,
    "pg-restart": pg_restart,
    "pool-storm": pool_storm,
    "link-loss": link_loss,
}
