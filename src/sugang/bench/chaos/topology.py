"""The whole stand-in for the `ha` overlay on one machine, built and torn down by the bench:
three nodes (network namespaces) each running an API replica (`sugang serve`); HAProxy in
front (for the Service/Traefik path); PostgreSQL primary + synchronous standby behind a
multi-host URL; Redis primary + replica + three Sentinels. Every part is a real process."""

import asyncio
import secrets
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from pydantic import SecretStr

from sugang.bench.chaos.balancer import Balancer
from sugang.bench.chaos.nodes import Network, Node
from sugang.bench.chaos.postgres_pair import PostgresPair
from sugang.bench.chaos.processes import ChaosError, Server
from sugang.bench.chaos.redis_group import RedisGroup
from sugang.config import Settings
from sugang.db import Database, migrate

SUGANG = str(Path(sys.executable).with_name("sugang"))
API_PORT = 8000
HEALTH_PORT = 8001  # /readyz from a thread, as the kit's readiness probe asks it


@dataclass(frozen=True)
class Shape:
    nodes: int = 3
    workers: int = 2  # per replica, as the kit runs them
    pool_size: int = 10  # per worker, as the kit's config


@dataclass
class Topology:
    root: Path
    shape: Shape = field(default_factory=Shape)
    network: Network | None = None
    postgres: PostgresPair | None = None
    redis: RedisGroup | None = None
    replicas: dict[str, Server] = field(default_factory=dict)  # node name -> its replica
    balancer: Balancer | None = None
    secret: str = field(default_factory=lambda: secrets.token_urlsafe(32))

    async def start(self, say: Callable[[str], None] = lambda _: None) -> "Topology":
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o755)  # PostgreSQL runs as its own user, inside this directory
        say("nodes: network namespaces on a bridge")
        self.network = Network(self.shape.nodes)
        self.network.create()
        host = self.network.host_address
        say("PostgreSQL: a primary and a synchronous standby")
        self.postgres = PostgresPair(self.root / "postgres", host=host)
        self.postgres.start()
        say("Redis: a primary, a replica and three sentinels")
        self.redis = RedisGroup(self.root / "redis", host=host)
        self.redis.start()
        database = Database(self.settings())
        try:
            await migrate.upgrade(database.engine)
        finally:
            await database.dispose()
        say(f"{len(self.network.nodes)} API replicas, {self.shape.workers} workers each")
        for node in self.network.nodes:
            self.replicas[node.name] = self._replica(node)
            self.replicas[node.name].start()
        await asyncio.gather(*(self.wait_ready(node) for node in self.network.nodes))
        say("HAProxy in front, checking /readyz")
        self.balancer = Balancer(
            self.root / "haproxy",
            [(node, API_PORT) for node in self.network.nodes],
            health_port=HEALTH_PORT,
        ).start()
        await self._wait_balanced()
        return self

    def settings(self) -> Settings:
        """What the replicas run with, and what the bench reads the database with."""
        assert self.postgres is not None and self.redis is not None
        sentinels = [f"{host}:{port}" for host, port in self.redis.target.addresses]
        return Settings(
            environment="test",
            database_url=self.postgres.url,
            secret_key=SecretStr(self.secret),
            redis_sentinels=sentinels,
            redis_master_name=self.redis.target.master,
            db_pool_size=self.shape.pool_size,
        )

    @property
    def url(self) -> str:
        assert self.balancer is not None
        return self.balancer.url

    @property
    def nodes(self) -> list[Node]:
        assert self.network is not None
        return self.network.nodes

    def node_url(self, node: Node) -> str:
        return f"http://{node.address}:{API_PORT}"

    async def wait_ready(self, node: Node, timeout: float = 60) -> None:
        replica = self.replicas[node.name]
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(timeout=1) as http:
            while time.monotonic() < deadline:
                try:
                    if (await http.get(f"{self.node_url(node)}/readyz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                if not replica.running:
                    break
                await asyncio.sleep(0.2)
        log = replica.log.read_text(errors="replace")[-3000:]
        raise ChaosError(f"the replica on {node.name} did not become ready:\n{log}")

    def restart_replica(self, node: Node) -> None:
        self.replicas[node.name].start()

    async def stop(self) -> None:
        """Every part stopped, whatever one of them raises (the first error is raised after)."""
        parts: list[Callable[[], None]] = [replica.stop for replica in self.replicas.values()]
        if self.balancer is not None:
            parts.insert(0, self.balancer.stop)
        if self.redis is not None:
            parts.append(self.redis.stop)
        if self.postgres is not None:
            parts.append(self.postgres.stop)
        if self.network is not None:
            parts.append(self.network.remove)
        errors: list[Exception] = []
        for stop in parts:
            try:
                stop()
            except Exception as error:  # noqa: BLE001 (the rest must still be stopped)
                errors.append(error)
        if errors:
            raise errors[0]

    def _replica(self, node: Node) -> Server:
        settings = self.settings()
        env = {
            "PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
            "SUGANG_ENVIRONMENT": settings.environment,
            "SUGANG_DATABASE_URL": settings.database_url,
            "SUGANG_SECRET_KEY": self.secret,
            "SUGANG_REDIS_SENTINELS": ",".join(settings.redis_sentinels),
            "SUGANG_REDIS_MASTER_NAME": settings.redis_master_name,
            "SUGANG_DB_POOL_SIZE": str(self.shape.pool_size),
            "SUGANG_HEALTH_PORT": str(HEALTH_PORT),
            "SUGANG_ACCESS_LOG": "false",
            "SUGANG_LOG_FORMAT": "json",
            "NODE_NAME": node.name,
            "POD_NAME": f"sugang-{node.name}",
        }
        command = node.command(
            SUGANG, "serve", "--host", node.address, "--port", str(API_PORT),
            "--workers", str(self.shape.workers), "--log-level", "warning",
        )  # fmt: skip
        return Server(f"api-{node.name}", command, self.root / f"api-{node.name}.log", env)

    async def _wait_balanced(self, timeout: float = 20) -> None:
        """Until HAProxy's checks have let every replica in."""
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(timeout=2) as http:
            seen: set[str] = set()
            while time.monotonic() < deadline and len(seen) < len(self.replicas):
                try:
                    answer = await http.get(f"{self.url}/healthz")
                    seen.add(answer.headers.get("X-Served-By", "").split("/")[0])
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.05)
        if len(seen) < len(self.replicas):
            raise ChaosError(f"HAProxy sends traffic to {sorted(seen)} only")
