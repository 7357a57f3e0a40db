"""The `ha` overlay's Redis members, run as their pods run them: the script from the rendered
ConfigMap (redis-node.sh), one Redis and one Sentinel per "pod", each pod on its own "node"
(a network namespace with its own address, as a pod has its own IP). Debian's redis-server and
dash stand in for the redis:7.4-alpine image and its busybox sh; the pods' DNS names are their
addresses here (no cluster DNS). What is proven: a new group makes the first member primary and
the others its replicas; the app finds the primary through the sentinels; losing the primary's
pod promotes another member with the data; the lost member comes back as a replica; the whole
group lost and started again comes back on the last primary, with the data."""

import asyncio
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis

from sugang.bench.chaos.nodes import Network, Node
from sugang.bench.chaos.processes import Server
from sugang.config import Settings
from sugang.db.redis import redis_client

pytestmark = pytest.mark.slow

SENTINEL_PORT = 26379
PASSWORD = "test-members-pw"  # the pods' REDIS_PASSWORD, from the Secret in the cluster


@dataclass
class Pod:
    node: Node
    redis: Server
    sentinel: Server

    def start(self) -> None:
        self.redis.start()
        self.sentinel.start()

    def lose(self) -> None:
        """The pod gone at once, both containers (as when its node dies)."""
        for server in (self.redis, self.sentinel):
            server.kill()
            server.wait_for_exit()


def sentinel_view(address: str, master: str) -> dict[str, Any] | None:
    try:
        with redis.Redis(
            address, SENTINEL_PORT, password=PASSWORD, socket_timeout=1, decode_responses=True
        ) as s:
            return dict(s.execute_command("SENTINEL", "MASTER", master))
    except redis.RedisError:
        return None


def wait_until(check: Any, timeout: float, what: str, logs: list[Server]) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.2)
    tails = "\n".join(f"--- {s.name}\n{s.log.read_text(errors='replace')[-1500:]}" for s in logs)
    raise AssertionError(f"{what} within {timeout} s\n{tails}")


@pytest.fixture
def network() -> Iterator[Network]:
    if shutil.which("redis-server") is None or shutil.which("redis-cli") is None:
        pytest.fail("the Redis members need redis-server and redis-cli (apt-get install redis)")
    created = Network(count=3).create()
    try:
        yield created
    finally:
        created.remove()


@pytest.fixture
def pods(
    rendered: dict[str, list[dict[str, Any]]], network: Network, tmp_path: Path
) -> Iterator[list[Pod]]:
    documents = rendered["ha"]
    scripts = next(
        d
        for d in documents
        if d["kind"] == "ConfigMap" and d["metadata"]["name"].startswith("sugang-redis-scripts")
    )
    script = tmp_path / "redis-node.sh"
    script.write_text(scripts["data"]["redis-node.sh"])
    members = next(
        d
        for d in documents
        if d["kind"] == "StatefulSet" and d["metadata"]["name"] == "sugang-redis"
    )
    container = members["spec"]["template"]["spec"]["containers"][0]
    master = next(e["value"] for e in container["env"] if e["name"] == "MASTER_NAME")
    from_secret = {e["name"] for e in container["env"] if "secretKeyRef" in e.get("valueFrom", {})}
    assert {"REDIS_PASSWORD", "REDISCLI_AUTH"} <= from_secret
    addresses = " ".join(node.address for node in network.nodes)
    made = []
    for number, node in enumerate(network.nodes):
        data = tmp_path / f"data-{number}"
        data.mkdir()
        env = {
            "PATH": "/usr/bin:/bin",
            "SELF": node.address,
            "MEMBERS": addresses,
            "MASTER_NAME": master,
            "DATA": str(data),
            "REDIS_PASSWORD": PASSWORD,
            "REDISCLI_AUTH": PASSWORD,
        }
        made.append(
            Pod(
                node,
                *(
                    Server(
                        f"sugang-redis-{number}/{role}",
                        node.command("sh", str(script), role),
                        tmp_path / f"{number}-{role}.log",
                        env=env,
                    )
                    for role in ("redis", "sentinel")
                ),
            )
        )
    try:
        yield made
    finally:
        for pod in made:
            pod.redis.stop()
            pod.sentinel.stop()


def master_of(pods: list[Pod], master: str = "sugang") -> str | None:
    """The primary's address, when every live sentinel names the same one and it knows two
    replicas and the two other sentinels."""
    views = [sentinel_view(pod.node.address, master) for pod in pods]
    live = [v for v in views if v is not None]
    if not live or len({v["ip"] for v in live}) != 1:
        return None
    return str(live[0]["ip"])


def test_the_members_elect_replicate_fail_over_and_rejoin(pods: list[Pod], tmp_path: Path) -> None:
    logs = [s for pod in pods for s in (pod.redis, pod.sentinel)]
    for pod in pods:  # in order, as a StatefulSet starts them
        pod.start()
        wait_until(lambda p=pod: sentinel_view(p.node.address, "sugang"), 15, "up", logs)
    first, *others = pods

    def settled() -> bool:
        # every sentinel, not one: a sentinel learns the replicas from the primary's INFO
        # (every 10 s), and one elected leader that never saw them finds "no good slave"
        views = [sentinel_view(pod.node.address, "sugang") for pod in pods]
        return all(
            view
            and view["ip"] == first.node.address
            and int(view["num-slaves"]) == 2
            and int(view["num-other-sentinels"]) == 2
            for view in views
        )

    wait_until(settled, 30, "a new group: the first primary, two replicas, 3 sentinels", logs)

    for pod in pods:  # without the password, neither a Redis nor a Sentinel answers
        for port in (6379, SENTINEL_PORT):
            with (
                redis.Redis(pod.node.address, port, socket_timeout=1) as anonymous,
                pytest.raises(redis.AuthenticationError),
            ):
                anonymous.ping()

    settings = Settings(
        redis_sentinels=",".join(f"{p.node.address}:{SENTINEL_PORT}" for p in pods),
        redis_master_name="sugang",
        redis_password=PASSWORD,
    )
    assert settings.redis is not None

    async def write_and_read(key: str) -> str | None:
        client = redis_client(settings.redis, timeout=5, decode_responses=True)
        try:
            await client.set(key, "kept")
            assert await client.execute_command("WAIT", 2, 3000) == 2  # on both replicas
            return await client.get(key)  # type: ignore[no-any-return]
        finally:
            await client.aclose()

    assert asyncio.run(write_and_read("before")) == "kept"

    first.lose()
    promoted = wait_until(
        lambda: (m := master_of(others)) != first.node.address and m,
        30,
        "another member promoted after the primary's pod was lost",
        logs,
    )
    assert promoted in {p.node.address for p in others}

    async def read_after() -> tuple[str | None, str | None]:
        client = redis_client(settings.redis, timeout=5, decode_responses=True)
        try:
            kept = await client.get("before")
            await client.set("after", "kept")
            return kept, await client.get("after")
        finally:
            await client.aclose()

    assert asyncio.run(read_after()) == ("kept", "kept")

    first.start()  # the pod back on its node, with its volume

    def rejoined() -> bool:
        try:
            with redis.Redis(first.node.address, 6379, password=PASSWORD, socket_timeout=1) as back:
                info = back.info("replication")
        except redis.RedisError:
            return False
        return info["role"] == "slave" and info["master_host"] == promoted

    wait_until(rejoined, 30, "the lost member back as a replica of the new primary", logs)
    wait_until(lambda: master_of(pods) == promoted, 15, "its sentinel agreeing again", logs)
    with redis.Redis(first.node.address, 6379, password=PASSWORD, decode_responses=True) as back:
        wait_until(lambda: back.get("after") == "kept", 15, "the returning replica synced", logs)

    # Every member lost at once, then all started together (podManagementPolicy: Parallel):
    # each finds the last primary in its own sentinel's file, not the first member.
    time.sleep(1.5)  # the append-only files' fsync, once a second
    for pod in pods:
        pod.lose()
    for pod in pods:
        pod.start()
    wait_until(lambda: master_of(pods) == promoted, 30, "the group back, on the last primary", logs)

    def serving() -> bool:  # the sentinels may name it before its server has read its file
        try:
            with redis.Redis(promoted, 6379, password=PASSWORD, socket_timeout=1) as primary:
                return primary.info("replication")["role"] == "master"
        except redis.RedisError:
            return False

    wait_until(serving, 15, "the last primary serving again", logs)
    assert asyncio.run(read_after()) == ("kept", "kept")

    # Again, but the first member's volume is lost (a new disk) and it comes up first, alone:
    # it takes itself for a new group's primary, but its fresh sentinel knows no other
    # sentinels, so the others do not follow it to its empty Redis; it joins them.
    for pod in pods:
        pod.lose()
    shutil.rmtree(tmp_path / "data-0")
    (tmp_path / "data-0").mkdir()
    first.start()
    wait_until(lambda: sentinel_view(first.node.address, "sugang"), 20, "the first up", logs)
    for pod in others:
        pod.start()
    wait_until(serving, 30, "the last primary serving, with a member's volume lost", logs)
    wait_until(rejoined, 30, "the member with a new volume a replica of the last primary", logs)
    wait_until(lambda: master_of(pods) == promoted, 30, "every sentinel agreeing", logs)
    assert asyncio.run(read_after()) == ("kept", "kept")
