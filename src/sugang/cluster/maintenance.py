"""Day two, over SSH: remove a node, upgrade K3s node by node, and etcd snapshots (backup and
restore). The rules (etcd's quorum, one minor version at a time, the order) are pure
functions; the rest carries them out with `k3s kubectl` on a server, as an operator would."""

import re
import shlex
import time
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path

from sugang.cluster.inventory import Inventory, Node, Role
from sugang.cluster.nodes import (
    CORDONED_FOR,
    NodeStatus,
    Report,
    list_nodes,
    wait_for_api,
    wait_for_nodes,
)
from sugang.cluster.plan import (
    HostFacts,
    PlanError,
    Step,
    file_sha256,
    install_step,
    minor,
)
from sugang.cluster.runner import SNAPSHOT_DIR, apply_step, uninstall_k3s
from sugang.cluster.ssh import Host, HostError, connected, gather_all, on_a_server
from sugang.cluster.state import nodes_facts, read_token

SERVER_DB = "/var/lib/rancher/k3s/server/db"
SERVER_TOKEN = "/var/lib/rancher/k3s/server/token"
VERSION = re.compile(r"^v(\d+)\.(\d+)\.(\d+)\+k3s(\d+)$")


def version_key(version: str) -> tuple[int, ...]:
    """(1, 34, 1, 2) of "v1.34.1+k3s2", to compare releases."""
    found = VERSION.match(version)
    if not found:
        raise PlanError(f"{version!r} is not a K3s release (vX.Y.Z+k3sN, e.g. v1.34.1+k3s1)")
    return tuple(int(part) for part in found.groups())


# --- the rules ---------------------------------------------------------------------------


def quorum_refusal(nodes: list[NodeStatus], name: str) -> str | None:
    """Why removing `name` would leave etcd without a majority of healthy members, or None.
    The members are the nodes with the etcd role; healthy means Ready."""
    members = [n for n in nodes if n.etcd]
    if name not in {m.name for m in members}:
        return None
    left = [m for m in members if m.name != name]
    if not left:
        return f"{name} is the last etcd member: use `sugang cluster down` to end the cluster"
    healthy = [m.name for m in left if m.ready]
    needed = len(left) // 2 + 1
    if len(healthy) < needed:
        return (
            f"after removing {name}, {len(left)} etcd member(s) would be left and "
            f"{len(healthy)} of them healthy ({', '.join(healthy) or 'none'}): etcd needs "
            f"{needed} for a majority. Bring the others back to Ready first"
        )
    return None


def upgrade_order(
    inventory: Inventory,
    running: dict[str, str | None],
    target: str,
    unfinished: frozenset[str] = frozenset(),
) -> list[Node]:
    """The nodes to upgrade, in order: the first server, the other servers, then the agents
    (K3s's supported order: servers before agents, one minor version at a time). `running`
    is each node's installed version; `unfinished` names nodes not done even if their binary
    is `target` (see `unfinished`)."""
    wanted = version_key(target)
    pinned = inventory.cluster.k3s_version
    if pinned and pinned != target:
        raise PlanError(
            f"cluster.k3s_version in the inventory is {pinned}: set it to {target} first, or "
            "the next `sugang cluster up` would put the old release back"
        )
    problems = []
    for node in inventory.nodes:
        version = running.get(node.name)
        if version is None:
            problems.append(f"{node.name}: K3s is not installed (run `sugang cluster up` first)")
        elif version_key(version) > wanted:
            problems.append(f"{node.name} runs {version}, newer than {target}: no downgrades")
        elif minor(target) > (minor(version)[0], minor(version)[1] + 1):
            major, step = minor(version)[0], minor(version)[1] + 1
            problems.append(
                f"{node.name} runs {version}: Kubernetes upgrades go one minor version at a "
                f"time, to the latest v{major}.{step}.x first"
            )
    if problems:
        raise PlanError("cannot upgrade:\n  " + "\n  ".join(problems))
    first = inventory.first_server
    ordered = [first, *[s for s in inventory.servers if s != first], *inventory.agents]
    return [node for node in ordered if running[node.name] != target or node.name in unfinished]


def unfinished(facts: dict[str, HostFacts], nodes: list[NodeStatus], target: str) -> frozenset[str]:
    """Nodes not done even where the binary is already `target`: the last install failed, or
    the cluster does not see the node Ready at `target` (a run that timed out waiting)."""
    done = {n.name for n in nodes if n.ready and n.version == target}
    return frozenset(
        name for name, found in facts.items() if found.install_failed or name not in done
    )


# --- remove ------------------------------------------------------------------------------


@dataclass(frozen=True)
class DrainOptions:
    timeout: float = 300
    force: bool = False  # also evict pods no controller manages (they are lost)


def drain_command(name: str, options: DrainOptions, node_ready: bool = True) -> str:
    command = (
        f"k3s kubectl drain {shlex.quote(name)} --ignore-daemonsets --delete-emptydir-data "
        f"--timeout={int(options.timeout)}s"
    )
    if options.force:
        command += " --force"
    if not node_ready:
        # a node that is down never confirms its pods gone: do not wait for it
        command += " --skip-wait-for-delete-timeout=30"
    return command


async def _drain(api: Host, name: str, options: DrainOptions, node_ready: bool) -> None:
    command = drain_command(name, options, node_ready)
    await api.run(command, step=f"drain {name}", timeout=options.timeout + 60)


async def remove(inventory: Inventory, name: str, drain: DrainOptions, report: Report) -> bool:
    """Drain the node, delete it from the cluster (K3s then removes a server's etcd member
    and the node's password secret), and uninstall K3s on it. False when the machine could
    not be reached to uninstall."""
    node = inventory.node(name)
    servers = inventory.servers
    if node.role is Role.SERVER and len(servers) == 1:
        raise PlanError(f"{name} is the only server: use `sugang cluster down` to end the cluster")
    if node == inventory.first_server:
        raise PlanError(
            f"{name} is the first server, the one the others join: move another server to the "
            "top of `nodes` in the inventory, run `sugang cluster up` (the servers restart one "
            f"at a time with the new join address), then remove {name}"
        )
    api_name = inventory.first_server.name
    async with connected(inventory, [api_name]) as hosts:
        api = hosts[api_name]
        nodes = await list_nodes(api)
        status = next((n for n in nodes if n.name == name), None)
        if status is None:
            report(name, "not in the cluster (already deleted)")
        else:
            if refusal := quorum_refusal(nodes, name):
                raise PlanError(f"refused, nothing was changed: {refusal}")
            report(name, "draining" + ("" if status.ready else " (it is NotReady)"))
            await _drain(api, name, drain, status.ready)
            # blocks until K3s's finalizers ran: the etcd member and node password are gone
            await api.run(
                f"k3s kubectl delete node {shlex.quote(name)} --timeout=120s",
                step="delete the node",
            )
            removed = " and its etcd member" if status.etcd else ""
            report(name, f"deleted from the cluster{removed}")
    async with AsyncExitStack() as stack:
        try:
            hosts = await stack.enter_async_context(connected(inventory, [name]))
        except HostError as error:
            if status is not None and status.ready:
                raise
            # a dead machine: it is out of the cluster, and cannot be uninstalled
            report(name, f"not reached ({error.output}): K3s is still installed there")
            return False
        await uninstall_k3s(hosts[name], node.role, report)
    return True


# --- upgrade -----------------------------------------------------------------------------


async def upgrade(
    inventory: Inventory,
    target: str,
    drain: DrainOptions,
    report: Report,
    api_timeout: float = 300,
) -> list[str]:
    """Upgrade every node not at `target`: servers one at a time, then agents one at a
    time, each cordoned and drained first and uncordoned once Ready at the new version.
    A rerun continues: nodes already at `target` are skipped, and one left cordoned by an
    earlier run is uncordoned. Returns the nodes upgraded."""
    names = [n.name for n in inventory.nodes]
    async with connected(inventory, names) as hosts:
        facts = await nodes_facts(inventory, hosts)
        token = await read_token(hosts[inventory.first_server.name])
        if token is None:
            raise PlanError(
                f"{inventory.first_server.name} has no join token: is this the cluster `up` "
                "built? Run `sugang cluster status`"
            )
        listed = await _nodes(inventory, hosts)
        order = upgrade_order(
            inventory,
            {name: found.k3s_version for name, found in facts.items()},
            target,
            unfinished(facts, listed, target),
        )
        wanted = inventory
        binary = None
        if inventory.cluster.airgap:
            binary = file_sha256(inventory.cluster.airgap.k3s_binary)
            if order:
                await _check_binary(hosts[order[0].name], inventory, target)
        else:
            options = inventory.cluster.model_copy(update={"k3s_version": target})
            wanted = inventory.model_copy(update={"cluster": options})
        upgraded = []
        for status in listed:  # done by an earlier run that stopped before uncordoning
            if status.cordoned_for == "upgrade" and status.name not in {n.name for n in order}:
                await _uncordon(hosts[inventory.first_server.name], status.name, report)
        for node in order:
            step = install_step(wanted, node, facts[node.name], token, binary, target)
            await _upgrade_one(inventory, hosts, node, step, target, drain, report, api_timeout)
            upgraded.append(node.name)
    return upgraded


async def _nodes(inventory: Inventory, hosts: dict[str, Host]) -> list[NodeStatus]:
    """The nodes, from the first server whose API answers."""
    last: HostError | None = None
    for server in inventory.servers:
        try:
            return await list_nodes(hosts[server.name])
        except HostError as error:
            last = error
    assert last is not None
    raise last


def _api(inventory: Inventory, hosts: dict[str, Host], busy: Node) -> Host:
    """A server to run kubectl on: one other than `busy` when there is one."""
    others = [s for s in inventory.servers if s != busy]
    return hosts[(others or inventory.servers)[0].name]


async def _check_binary(host: Host, inventory: Inventory, target: str) -> None:
    """Air-gapped: the binary in the inventory must be the release asked for. It is run on
    a node (the right architecture, from /var/tmp) before any node is cordoned."""
    airgap = inventory.cluster.airgap
    assert airgap is not None
    staged = "/var/tmp/sugang-k3s-upgrade"
    await host.upload(airgap.k3s_binary, staged, step="upload the new k3s to check it")
    answer = await host.run(f"{staged} --version; rm -f {staged}", step="k3s --version")
    found = answer.stdout.split()[2] if len(answer.stdout.split()) > 2 else answer.output
    if found != target:
        raise PlanError(
            f"{airgap.k3s_binary} is K3s {found}, not {target}: put the {target} binary there "
            "(air-gapped, the inventory's binary is what gets installed)"
        )


async def _upgrade_one(
    inventory: Inventory,
    hosts: dict[str, Host],
    node: Node,
    step: Step,
    target: str,
    drain: DrainOptions,
    report: Report,
    api_timeout: float,
) -> None:
    api = _api(inventory, hosts, node)
    name = shlex.quote(node.name)
    nodes = await list_nodes(api)
    status = next((n for n in nodes if n.name == node.name), None)
    if status is None:
        raise PlanError(f"{node.name} is not in the cluster: run `sugang cluster up` first")
    if status.etcd:
        down = [n.name for n in nodes if n.etcd and n.name != node.name and not n.ready]
        if down:
            raise PlanError(
                f"not restarting {node.name}: etcd members {', '.join(down)} are NotReady, and "
                "one more down could cost the majority. Bring them back first, then rerun"
            )
    ours = status.cordoned_for == "upgrade" or not status.unschedulable
    if not status.unschedulable:
        # marked first: a rerun after a failure finds it and uncordons
        await api.run(
            f"k3s kubectl annotate --overwrite node {name} {CORDONED_FOR}=upgrade",
            step="mark the node",
        )
        await api.run(f"k3s kubectl cordon {name}", step="cordon")
    report(node.name, f"cordoned; draining before {status.version} → {target}")
    await _drain(api, node.name, drain, status.ready)
    if step.changes:
        await apply_step(hosts[node.name], step, report)
    else:  # installed by an earlier run that did not see it come back: start it again
        unit = "k3s" if node.role is Role.SERVER else "k3s-agent"
        report(node.name, f"installed already; systemctl restart {unit}")
        await hosts[node.name].run(f"systemctl restart {unit}", step=f"restart {unit}")
    if node.role is Role.SERVER:
        await wait_for_api(hosts[node.name], api_timeout, report)
    await wait_for_nodes(api, [node.name], api_timeout, version=target)
    report(node.name, f"Ready at {target}")
    if ours:  # an operator's own cordon stays
        await _uncordon(api, node.name, report)


async def _uncordon(api: Host, name: str, report: Report) -> None:
    quoted = shlex.quote(name)
    await api.run(f"k3s kubectl uncordon {quoted}", step="uncordon")
    await api.run(f"k3s kubectl annotate node {quoted} {CORDONED_FOR}-", step="unmark the node")
    report(name, "uncordoned")


# --- etcd snapshots ----------------------------------------------------------------------


def _need_etcd(inventory: Inventory) -> None:
    if not inventory.cluster.ha:
        raise PlanError(
            "etcd snapshots need an HA cluster (embedded etcd). A single server keeps its data "
            "in SQLite: stop K3s and copy /var/lib/rancher/k3s/server/db/state.db (and "
            f"{SERVER_TOKEN})"
        )


async def backup(inventory: Inventory, output: Path, name: str, report: Report) -> Path:
    """An on-demand snapshot (`k3s etcd-snapshot save`) on the first server that answers,
    copied to `output` with the server token beside it (a restore onto new machines needs
    it). Returns the local snapshot file."""
    _need_etcd(inventory)
    return await on_a_server(inventory, lambda host: _save(host, output, name, report))


async def _save(host: Host, output: Path, name: str, report: Report) -> Path:
    answer = await host.run(
        f"k3s etcd-snapshot save --name {shlex.quote(name)}", step="k3s etcd-snapshot save"
    )
    saved = re.search(r"Snapshot (\S+) saved", answer.output)
    if not saved:
        raise HostError(
            host.name, "k3s etcd-snapshot save", f"no snapshot named in:\n{answer.output}"
        )
    # with etcd-snapshot-compress the file carries an extension
    found = await host.run(
        f"ls -1 {SNAPSHOT_DIR}/{shlex.quote(saved.group(1))}* | head -n1", step="find the snapshot"
    )
    remote = found.stdout.strip()
    output.mkdir(parents=True, exist_ok=True)
    local = output / Path(remote).name
    local.touch(mode=0o600)  # it holds every Secret of the cluster: never readable by others
    local.chmod(0o600)
    await host.download(remote, local, step="copy the snapshot back")
    remote_sum = (await host.run(f"sha256sum {shlex.quote(remote)}")).stdout.split()[0]
    if file_sha256(local) != remote_sum:
        local.unlink()
        raise HostError(host.name, "copy the snapshot back", "the copy differs (sha256)")
    token = await host.read(SERVER_TOKEN)
    if token:
        secret = local.with_name(local.name + ".token")
        secret.touch(mode=0o600)
        secret.chmod(0o600)
        secret.write_text(token)
    report(host.name, f"{remote} → {local} ({local.stat().st_size} bytes)")
    return local


async def restore(inventory: Inventory, snapshot: Path, report: Report, api_timeout: float) -> None:
    """K3s's cluster reset from a snapshot: K3s stopped on every server; the first resets
    etcd to the snapshot and starts alone; the others' etcd data is moved aside and they
    start one at a time, joining it. Agents are left running and reconnect."""
    _need_etcd(inventory)
    if not snapshot.is_file():
        raise PlanError(f"{snapshot}: no such file")
    first = inventory.first_server
    others = [s for s in inventory.servers if s != first]
    async with connected(inventory, [s.name for s in inventory.servers]) as hosts:
        remote = f"{SNAPSHOT_DIR}/{snapshot.name}"
        await hosts[first.name].upload(snapshot, remote, mode="0600", step="upload the snapshot")
        report(first.name, f"snapshot at {remote}")
        await gather_all([_systemctl_stop(hosts[s.name], report) for s in inventory.servers])
        await hosts[first.name].run(
            f"k3s server --cluster-reset --cluster-reset-restore-path={shlex.quote(remote)}",
            step="k3s server --cluster-reset",
        )
        report(first.name, "etcd reset to the snapshot")
        aside = f"{SERVER_DB}-before-restore-{int(time.time())}"
        for server in others:
            await hosts[server.name].run(
                f"if [ -d {SERVER_DB} ]; then mv {SERVER_DB} {aside}; fi",
                step="move the old etcd data aside",
            )
            report(server.name, f"old etcd data moved to {aside}")
        for server in [first, *others]:
            await hosts[server.name].run("systemctl start k3s", step="systemctl start k3s")
            await wait_for_api(hosts[server.name], api_timeout, report)


async def _systemctl_stop(host: Host, report: Report) -> None:
    await host.run("systemctl stop k3s", step="systemctl stop k3s")
    report(host.name, "K3s stopped")
