"""CPU time spent during a measurement, read from /proc (Linux): by the server's processes
(those holding its listening socket), by PostgreSQL and Redis when they run on this machine,
and by the load generator itself, so a figure can be given per attempt."""

import os
import resource
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

_PROC = Path("/proc")
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_LISTEN = "0A"  # TCP_LISTEN in /proc/net/tcp
# Processes counted by name when they run here: the database and the cache the server uses.
_SERVICES = {"postgres": "postgres", "redis": "redis-server"}


def _listening_inodes(port: int) -> set[str]:
    inodes: set[str] = set()
    for table in ("tcp", "tcp6"):
        try:
            lines = (_PROC / "net" / table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == _LISTEN and int(local.rsplit(":", 1)[1], 16) == port:
                inodes.add(inode)
    return inodes


def _pids() -> list[int]:
    return [int(p.name) for p in _PROC.iterdir() if p.name.isdigit()]


def server_pids(url: str) -> list[int]:
    """The processes that hold the listening socket of `url`'s port on this machine (uvicorn's
    supervisor and its workers share it): empty if the server runs elsewhere."""
    parts = urlsplit(url)
    if parts.hostname not in {"127.0.0.1", "localhost", "::1"} and not (
        parts.hostname or ""
    ).startswith("127."):
        return []
    port = parts.port or (443 if parts.scheme == "https" else 80)
    sockets = {f"socket:[{inode}]" for inode in _listening_inodes(port)}
    return [pid for pid in _pids() if sockets & _open_files(pid)]


def _open_files(pid: int) -> set[str]:
    links: set[str] = set()
    try:
        fds = list((_PROC / str(pid) / "fd").iterdir())
    except OSError:
        return links
    for fd in fds:
        try:
            links.add(os.readlink(fd))
        except OSError:  # closed meanwhile (the listing's own descriptor, for one)
            continue
    return links


def _stat(pid: int) -> tuple[str, float] | None:
    """(command name, user + system CPU seconds) of a live process."""
    try:
        raw = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    name = raw[raw.index("(") + 1 : raw.rindex(")")]
    fields = raw[raw.rindex(")") + 2 :].split()
    return name, (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime


def _cpu_of(pids: Iterable[int]) -> dict[int, float]:
    return {pid: stat[1] for pid in pids if (stat := _stat(pid)) is not None}


def _by_name() -> dict[str, dict[int, float]]:
    groups: dict[str, dict[int, float]] = {group: {} for group in _SERVICES}
    for pid in _pids():
        stat = _stat(pid)
        if stat is None:
            continue
        for group, name in _SERVICES.items():
            if stat[0] == name:
                groups[group][pid] = stat[1]
    return groups


def _self_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@dataclass
class CpuMeter:
    """Start it before a measurement and `stop()` it after. A process that exits in between
    loses its share (the server's workers and the database's pooled backends live on); one
    that starts in between is counted from zero."""

    url: str

    def __post_init__(self) -> None:
        self.server = _cpu_of(server_pids(self.url))
        self.services = _by_name()
        self.load_generator = _self_seconds()

    def stop(self, answers: int, load_generator_seconds: float | None = None) -> dict[str, Any]:
        """CPU seconds of each group since the start, and milliseconds per answer.
        `load_generator_seconds`: a load generator in another process (wrk) gives its own."""

        def spent(before: dict[int, float], now: dict[int, float]) -> float:
            return sum(seconds - before.get(pid, 0.0) for pid, seconds in now.items())

        seconds: dict[str, float | None] = {
            "server": spent(self.server, _cpu_of(self.server)) if self.server else None,
        }
        now = _by_name()
        for group in _SERVICES:
            seconds[group] = spent(self.services[group], now[group]) if now[group] else None
        seconds["load_generator"] = (
            load_generator_seconds
            if load_generator_seconds is not None
            else _self_seconds() - self.load_generator
        )
        return {
            "how": "user + system time from /proc, summed over each group's processes",
            "server_processes": len(self.server),
            "seconds": {k: None if v is None else round(v, 2) for k, v in seconds.items()},
            "ms_per_answer": {
                k: None if v is None or not answers else round(v * 1000 / answers, 3)
                for k, v in seconds.items()
            },
        }
