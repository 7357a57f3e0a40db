"""The hosts, over SSH (asyncssh): run a command as root (through `sudo -n` when the SSH user
is not root), write a file from stdin, upload a binary. Secrets travel on stdin or SFTP, never
on a command line."""

import asyncio
import posixpath
import shlex
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self, TypeVar

import asyncssh

from sugang.cluster.inventory import Inventory, Node

OUTPUT_TAIL = 2000
T = TypeVar("T")


class HostError(Exception):
    """A step failed on a host: which host, which step, and what it printed."""

    def __init__(self, host: str, step: str, output: str) -> None:
        self.host, self.step, self.output = host, step, output.strip()[-OUTPUT_TAIL:]
        super().__init__(f"{host}: {step} failed\n{self.output}")


@dataclass(frozen=True)
class Target:
    name: str
    address: str
    user: str
    port: int
    key: Path | None
    known_hosts: Path | None

    @property
    def is_root(self) -> bool:
        return self.user == "root"


def targets(inventory: Inventory) -> dict[str, Target]:
    """Every machine the inventory names (the load balancer as "load-balancer")."""
    ssh = inventory.ssh

    def target(name: str, address: str, node: Node | None, over: object) -> Target:
        return Target(
            name=name,
            address=address,
            user=getattr(over, "user", None) or ssh.user,
            port=getattr(over, "port", None) or ssh.port,
            key=getattr(over, "key", None) or ssh.key,
            known_hosts=ssh.known_hosts,
        )

    found = {n.name: target(n.name, n.address, n, n) for n in inventory.nodes}
    lb = inventory.load_balancer
    if lb:
        found["load-balancer"] = target("load-balancer", lb.address, None, lb)
    return found


@dataclass(frozen=True)
class Result:
    exit_status: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.exit_status == 0

    @property
    def output(self) -> str:
        return (self.stdout + self.stderr).strip()


class Host:
    """One SSH connection to one machine."""

    def __init__(self, target: Target, connect_timeout: float = 15) -> None:
        self.target = target
        self.name = target.name
        self._connect_timeout = connect_timeout
        self._connection: asyncssh.SSHClientConnection | None = None

    async def __aenter__(self) -> Self:
        target = self.target
        options: dict[str, object] = {}
        if target.key:
            options["client_keys"] = [str(target.key)]
        if target.known_hosts:
            options["known_hosts"] = str(target.known_hosts)
        try:
            self._connection = await asyncssh.connect(
                target.address,
                port=target.port,
                username=target.user,
                connect_timeout=self._connect_timeout,
                **options,
            )
        except (OSError, asyncssh.Error) as error:
            raise HostError(
                self.name, f"SSH to {target.user}@{target.address}:{target.port}", str(error)
            ) from None
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._connection:
            self._connection.close()
            await self._connection.wait_closed()

    @property
    def connection(self) -> asyncssh.SSHClientConnection:
        assert self._connection is not None, "use the host in `async with`"
        return self._connection

    def as_root(self, command: str) -> str:
        wrapped = f"sh -c {shlex.quote(command)}"
        return wrapped if self.target.is_root else f"sudo -n {wrapped}"

    async def run(
        self,
        command: str,
        *,
        step: str | None = None,
        stdin: str | None = None,
        check: bool = True,
        timeout: float = 600,
    ) -> Result:
        """Run a shell command as root. With `check`, a non-zero exit raises HostError naming
        the step (the command itself when no step is given)."""
        try:
            answer = await self.connection.run(
                self.as_root(command), input=stdin, check=False, timeout=timeout
            )
        except (OSError, asyncssh.Error) as error:
            raise HostError(self.name, step or command, str(error)) from None
        result = Result(
            int(answer.exit_status if answer.exit_status is not None else 255),
            str(answer.stdout or ""),
            str(answer.stderr or ""),
        )
        if check and not result.ok:
            raise HostError(self.name, step or command, result.output)
        return result

    async def write(self, path: str, content: str, mode: str = "0644", step: str = "") -> None:
        """Write a file atomically from stdin (never through a command line)."""
        directory = posixpath.dirname(path)
        temporary = f"{path}.sugang-{uuid.uuid4().hex[:8]}"
        await self.run(
            f"umask 077 && mkdir -p {shlex.quote(directory)} && cat > {shlex.quote(temporary)} "
            f"&& chmod {mode} {shlex.quote(temporary)} && mv -f {shlex.quote(temporary)} "
            f"{shlex.quote(path)}",
            stdin=content,
            step=step or f"write {path}",
        )

    async def read(self, path: str) -> str | None:
        result = await self.run(f"cat {shlex.quote(path)}", check=False)
        return result.stdout if result.ok else None

    async def upload(
        self,
        local: Path,
        remote: str,
        mode: str = "0755",
        step: str = "",
        progress: Callable[[int, int], None] | None = None,
    ) -> None:
        """Copy a local file over SFTP, then move it into place as root. `progress` hears
        (bytes sent, total) as it goes."""
        # /var/tmp: /tmp is a RAM disk on many systems, and an image archive may be large
        staging = f"/var/tmp/sugang-upload-{uuid.uuid4().hex[:12]}"

        def heard(_source: bytes, _target: bytes, sent: int, total: int) -> None:
            if progress:
                progress(sent, total)

        try:
            async with self.connection.start_sftp_client() as sftp:
                await sftp.put(str(local), staging, progress_handler=heard)
        except (OSError, asyncssh.Error) as error:
            raise HostError(self.name, step or f"upload {local.name}", str(error)) from None
        directory = posixpath.dirname(remote)
        await self.run(
            f"mkdir -p {shlex.quote(directory)} && install -m {mode} {staging} "
            f"{shlex.quote(remote)}; status=$?; rm -f {staging}; exit $status",
            step=step or f"install {remote}",
        )

    async def download(self, remote: str, local: Path, step: str = "") -> None:
        """Copy a root-owned file back over SFTP: staged as a copy the SSH user may read,
        fetched, and the copy removed."""
        staging = f"/var/tmp/sugang-download-{uuid.uuid4().hex[:12]}"
        user = shlex.quote(self.target.user)
        await self.run(
            f"install -m 0600 -o {user} {shlex.quote(remote)} {staging}",
            step=step or f"read {remote}",
        )
        try:
            async with self.connection.start_sftp_client() as sftp:
                await sftp.get(staging, str(local))
        except (OSError, asyncssh.Error) as error:
            raise HostError(self.name, step or f"download {remote}", str(error)) from None
        finally:
            await self.run(f"rm -f {staging}", check=False)


@asynccontextmanager
async def connected(inventory: Inventory, names: Iterable[str]) -> AsyncIterator[dict[str, Host]]:
    """SSH connections to the named hosts, opened in parallel."""
    every = targets(inventory)
    async with AsyncExitStack() as stack:
        hosts = [Host(every[name]) for name in names]
        opened = await asyncio.gather(
            *(stack.enter_async_context(host) for host in hosts), return_exceptions=True
        )
        failures = [o for o in opened if isinstance(o, BaseException)]
        if failures:
            raise failures[0]
        yield {host.name: host for host in hosts}


async def gather_all(runs: list[Awaitable[T]]) -> list[T]:
    """Run together; every one finishes, then the first failure is raised (a second failure
    left unretrieved would be printed by asyncio ahead of the message naming the host)."""
    results = await asyncio.gather(*runs, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results  # type: ignore[return-value]


async def on_a_server(inventory: Inventory, work: Callable[[Host], Awaitable[T]]) -> T:
    """`work` on the first server, in inventory order, that answers and does it."""
    last: HostError | None = None
    for server in inventory.servers:
        try:
            async with connected(inventory, [server.name]) as hosts:
                return await work(hosts[server.name])
        except HostError as error:
            last = error
    assert last is not None
    raise last
