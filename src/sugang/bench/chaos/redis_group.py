"""Redis as the `ha` overlay runs it: a primary, a replica and three Sentinels that promote
the replica when the primary is gone (Debian's redis-server, in sentinel mode for the
sentinels). Each keeps an append-only file (fsync every second), as the overlay's members do
on their volumes: a server restarted after an outage has its data. What a failover loses is
what asynchronous replication had not sent yet."""

import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis

from sugang.bench.chaos.processes import ChaosError, Server, free_port, wait_for_port
from sugang.config import Sentinels

MASTER = "sugang"
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


@dataclass
class RedisGroup:
    root: Path
    host: str = "127.0.0.1"
    down_after_ms: int = 5000  # as the ha overlay's sentinels (redis-node.sh)
    data: list[Server] = field(default_factory=list)  # the primary first, at the start
    sentinels: list[Server] = field(default_factory=list)
    sentinel_ports: list[int] = field(default_factory=list)

    def start(self) -> "RedisGroup":
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        primary_port, replica_port = free_port(self.host), free_port(self.host)
        for name, port, extra in (
            ("redis-a", primary_port, []),
            ("redis-b", replica_port, ["--replicaof", self.host, str(primary_port)]),
        ):
            (self.root / name).mkdir(exist_ok=True)
            server = Server(
                name,
                [
                    REDIS_SERVER,
                    "--bind",
                    self.host,
                    "--protected-mode",
                    "no",  # reached from the nodes' addresses, without a password (a lab)
                    "--port",
                    str(port),
                    "--save",
                    "",
                    "--appendonly",
                    "yes",
                    "--appendfsync",
                    "everysec",
                    "--dir",
                    str(self.root / name),
                    *extra,
                ],
                self.root / f"{name}.log",
            )
            server.start()
            wait_for_port(self.host, port, 10, server)
            self.data.append(server)
        for i in range(3):
            port = free_port(self.host)
            config = self.root / f"sentinel-{i}.conf"  # Sentinel rewrites it as things change
            config.write_text(
                f"bind {self.host}\nport {port}\ndir {self.root}\nprotected-mode no\n"
                f"sentinel monitor {MASTER} {self.host} {primary_port} 2\n"
                f"sentinel down-after-milliseconds {MASTER} {self.down_after_ms}\n"
                f"sentinel failover-timeout {MASTER} 10000\n"
                f"sentinel parallel-syncs {MASTER} 1\n"
            )
            sentinel = Server(
                f"sentinel-{i}",
                [REDIS_SERVER, str(config), "--sentinel"],
                self.root / f"sentinel-{i}.log",
            )
            sentinel.start()
            wait_for_port(self.host, port, 10, sentinel)
            self.sentinels.append(sentinel)
            self.sentinel_ports.append(port)
        self.wait_until_replicated()

    @property
    def target(self) -> Sentinels:
        return Sentinels(tuple((self.host, port) for port in self.sentinel_ports), MASTER)

    def master_port(self) -> int | None:
        """The master's port as the sentinels report it now."""
        for port in self.sentinel_ports:
            try:
                with redis.Redis(self.host, port, socket_timeout=1) as watcher:
                    address = watcher.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER)
                if address:
                    return int(address[1])
            except redis.RedisError:
                continue
        return None

    def kill_master(self) -> Server:
        """SIGKILL the master (no time to hand anything over)."""
        port = self.master_port()
        if port is None:
            raise ChaosError("no sentinel knows the master")
        victim = next(s for s in self.data if str(port) in s.command)
        victim.kill()
        victim.wait_for_exit()
        return victim

    def wait_for_new_master(self, old_port: int, timeout: float = 30) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            port = self.master_port()
            if port is not None and port != old_port and self._is_master(port):
                return port
            time.sleep(0.2)
        raise ChaosError(f"no failover within {timeout} s:\n{self._sentinel_logs()}")

    def wait_until_replicated(self, timeout: float = 20) -> None:
        """Every replica linked to the master (a failover needs one to promote)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            port = self.master_port()
            if port is not None:
                try:
                    with redis.Redis(self.host, port, socket_timeout=1) as master:
                        info = master.info("replication")
                    if (
                        info.get("connected_slaves", 0) >= 1
                        and info.get("slave0", {}).get("state") == "online"
                    ):
                        return
                except redis.RedisError:
                    pass
            time.sleep(0.2)
        raise ChaosError(f"the replica did not sync within {timeout} s")

    def stop_data(self) -> None:
        """Every data server down (an outage of Redis as a whole)."""
        for server in self.data:
            server.kill()
            server.wait_for_exit()

    def start_data(self) -> None:
        for server in self.data:
            if not server.running:
                server.start()

    def stop(self) -> None:
        for server in self.sentinels + self.data:
            server.stop()

    def _is_master(self, port: int) -> bool:
        try:
            with redis.Redis(self.host, port, socket_timeout=1) as node:
                return bool(node.info("replication").get("role") == "master")
        except redis.RedisError:
            return False

    def _sentinel_logs(self) -> str:
        return "\n".join(s.log.read_text(errors="replace")[-1500:] for s in self.sentinels)
