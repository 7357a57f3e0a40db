"""PostgreSQL as CloudNativePG runs it, by hand: a primary and a streaming standby made by
pg_basebackup, with synchronous replication (a commit is on both before it is acknowledged),
reached through a multi-host URL that picks the one that writes
(`target_session_attrs=read-write`), as the app reaches CloudNativePG's `-rw` Service. A
failover is what the operator does: the primary is gone, the standby is promoted.

The servers run as the `postgres` user (initdb refuses root) from Debian's packages."""

import glob
import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from sugang.bench.chaos.processes import ChaosError, Server, free_port, wait_for_port

DATABASE = "sugang"


def postgres_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
    if not found:
        raise ChaosError("PostgreSQL's server is not installed (apt-get install postgresql)")
    return Path(found[-1]).parent


def _as_postgres(*command: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    runner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    result = subprocess.run([*runner, *command], capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        raise ChaosError(f"{' '.join(command)} failed:\n{result.stdout}{result.stderr}")
    return result


@dataclass
class PostgresPair:
    root: Path
    host: str = "127.0.0.1"
    synchronous: bool = True
    ports: list[int] = field(default_factory=list)
    servers: list[Server] = field(default_factory=list)  # the first primary, then the standby

    def start(self) -> "PostgresPair":
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        bindir = postgres_bin()
        self.root.mkdir(parents=True, exist_ok=True)
        shutil.chown(self.root, "postgres")
        primary_dir, standby_dir = self.root / "a", self.root / "b"
        self.ports = [free_port(self.host), free_port(self.host)]
        _as_postgres(
            str(bindir / "initdb"), "-D", str(primary_dir), "-A", "trust", "-U", "postgres"
        )
        (primary_dir / "pg_hba.conf").write_text(
            "local all all trust\nhost all all 0.0.0.0/0 trust\n"
            "host replication all 0.0.0.0/0 trust\n"
        )
        primary = self._server("postgres-a", primary_dir, self.ports[0])
        self.servers = [primary]
        primary.start()
        wait_for_port(self.host, self.ports[0], 30, primary)
        self._wait_accepting(self.ports[0])
        self._psql(self.ports[0], f"CREATE DATABASE {DATABASE}")
        _as_postgres(
            str(bindir / "pg_basebackup"),
            "-h",
            self.host,
            "-p",
            str(self.ports[0]),
            "-U",
            "postgres",
            "-D",
            str(standby_dir),
            "-R",  # a standby.signal and primary_conninfo: it follows the primary
            "-X",
            "stream",
            "-c",
            "fast",
        )
        standby = self._server("postgres-b", standby_dir, self.ports[1])
        self.servers.append(standby)
        standby.start()
        wait_for_port(self.host, self.ports[1], 30, standby)
        if self.synchronous:
            # Set on the primary after the standby copied it: a promoted standby must not
            # wait for a standby it does not have (the operator would add a new one).
            self._psql(self.ports[0], "ALTER SYSTEM SET synchronous_standby_names = '*'")
            self._psql(self.ports[0], "SELECT pg_reload_conf()")
            self._wait_synchronous()

    @property
    def url(self) -> str:
        """Both servers; asyncpg connects to the first that takes writes."""
        hosts = "&".join(f"host={self.host}:{port}" for port in self.ports)
        return f"postgresql+asyncpg://postgres@/{DATABASE}?{hosts}&target_session_attrs=read-write"

    def primary_url(self) -> str:
        return f"postgresql+asyncpg://postgres@{self.host}:{self.ports[0]}/{DATABASE}"

    def kill_primary(self) -> None:
        self.servers[0].kill()
        self.servers[0].wait_for_exit()

    def promote_standby(self) -> None:
        _as_postgres(str(postgres_bin() / "pg_ctl"), "promote", "-w", "-D", str(self.root / "b"))

    def restart_primary(self) -> None:
        """A fast restart (`pg_ctl stop -m fast`, then start): every session terminated, back
        in about a second."""
        primary = self.servers[0]
        self._pg_ctl_stop(self.root / "a", "fast")
        primary.wait_for_exit()
        primary.start()
        wait_for_port(self.host, self.ports[0], 30, primary)
        self._wait_accepting(self.ports[0])

    def stop(self) -> None:
        for directory, server in zip(
            (self.root / "a", self.root / "b"), self.servers, strict=False
        ):
            if server.running:
                self._pg_ctl_stop(directory, "immediate")
                server.stop()

    def _pg_ctl_stop(self, directory: Path, mode: str) -> None:
        """Through pg_ctl, which waits for the server to be down (a SIGTERM alone asks for a
        "smart" shutdown, which waits for every client to leave)."""
        _as_postgres(
            str(postgres_bin() / "pg_ctl"), "stop", "-D", str(directory), "-m", mode, "-w",
            check=False,
        )  # fmt: skip

    def _server(self, name: str, directory: Path, port: int) -> Server:
        settings = [
            f"port={port}",
            f"listen_addresses={self.host}",
            f"unix_socket_directories={self.root}",
            "max_connections=200",
            "fsync=off",  # a test machine's disk: the replication, not the disk, is tested
            "wal_level=replica",
            "max_wal_senders=5",
            "hot_standby=on",
        ]
        runner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        command = [*runner, str(postgres_bin() / "postgres"), "-D", str(directory)]
        for setting in settings:
            command += ["-c", setting]
        log = self.root / f"{name}.log"
        log.touch()
        shutil.chown(log, "postgres")
        return Server(name, command, log)

    def _psql(self, port: int, sql: str) -> str:
        return _as_postgres(
            str(postgres_bin() / "psql"), "-h", self.host, "-p", str(port), "-U", "postgres",
            "-Atc", sql,
        ).stdout.strip()  # fmt: skip

    def _wait_accepting(self, port: int, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready = _as_postgres(
                str(postgres_bin() / "pg_isready"), "-h", self.host, "-p", str(port), check=False
            )
            if ready.returncode == 0:
                return
            time.sleep(0.2)
        raise ChaosError(f"PostgreSQL on {port} is not accepting connections")

    def _wait_synchronous(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        query = "SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync'"
        while time.monotonic() < deadline:
            if self._psql(self.ports[0], query) == "1":
                return
            time.sleep(0.2)
        raise ChaosError("the standby did not become synchronous")
