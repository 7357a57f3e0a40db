"""The faults, each injected at a fixed moment of the rush (`at`, seconds after it began)
and, where it has an end, undone as Kubernetes or the database's operator would. Anything
that blocks runs in a thread: the students' event loop must go on meanwhile."""

import asyncio
import json
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from sugang.bench.chaos.processes import ChaosError
from sugang.bench.chaos.topology import Topology

PRE_STOP_SECONDS = 5  # the kit's preStop pause (deploy/k3s/base/api.yaml)
STORM_CLIENTS = 1000
STORM_SECONDS = 10

Clock = Callable[[], float]


@dataclass
class Fault:
    started: float | None = None  # on the rush's clock
    ended: float | None = None
    notes: list[str] = field(default_factory=list)
    # During a pool storm, as HAProxy saw it (a C process, not slowed by the students' loop):
    readiness_probes: int = 0  # its /readyz checks (one a second per replica)
    readiness_failures: int = 0  # those not answered 200 within the kit's 2 s
    taken_out: int = 0  # times a replica was taken out of rotation (three failures in a row)


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
    """Each replica replaced in turn, the way a rollout replaces a pod: out of rotation first
    (the endpoint removed), the kit's preStop pause, SIGTERM (requests in flight finish), the
    new one started, and the next only once it is ready and back in rotation."""
    assert topology.balancer is not None
    await _until(clock, at)
    fault.started = clock()
    for node in topology.nodes:
        replica = topology.replicas[node.name]
        topology.balancer.set_state(node, "maint")
        await asyncio.sleep(PRE_STOP_SECONDS)
        await asyncio.to_thread(replica.stop)
        topology.restart_replica(node)
        await topology.wait_ready(node)
        topology.balancer.set_state(node, "ready")
        await asyncio.sleep(2.5)  # HAProxy's checks let it back in (two good ones, 1 s apart)
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
    """All of Redis down for 15 s (SIGKILL), then started again with its append-only files
    (the overlay's members keep theirs on volumes): at most the last second is lost."""
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
    """For 10 s, 1,000 clients more than the pools hold (sugang.bench.chaos.storm, in a process
    of its own) read the current term, each again as soon as it has its answer, or after the
    Retry-After of a 503. Readiness must never flap: HAProxy checks every replica's /readyz
    each second with the kit's 2 s timeout, and must take no replica out."""
    balancer = topology.balancer
    assert balancer is not None
    await _until(clock, at)
    fault.started = clock()
    failed_before, taken_out_before = await asyncio.to_thread(balancer.check_counts)
    began = time.monotonic()
    storm = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "sugang.bench.chaos.storm",
        topology.url, str(STORM_CLIENTS), str(STORM_SECONDS),
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    output, _ = await storm.communicate()
    answers = json.loads(output or b"{}") if storm.returncode == 0 else {}
    if not answers:
        raise ChaosError(f"the storm did not run (exit {storm.returncode}): {output[-500:]!r}")
    failed_after, taken_out_after = await asyncio.to_thread(balancer.check_counts)
    fault.readiness_probes = int(time.monotonic() - began) * len(topology.nodes)
    fault.readiness_failures = failed_after - failed_before
    fault.taken_out = taken_out_after - taken_out_before
    fault.notes.append(f"storm answers by status: {json.dumps(answers, sort_keys=True)}")
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
