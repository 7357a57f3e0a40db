"""`sugang cluster check`, `up`, `status` and `down`, carried out over SSH: read the hosts' state
(state.py), plan, run the plan stage by stage, and fetch the kubeconfig. Every decision is the
planner's (plan.py); this module only carries it out."""

import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from sugang.cluster.checks import (
    GATHER,
    LB_GATHER,
    Finding,
    iptables_script,
    judge_iptables,
    judge_load_balancer,
    judge_node,
    judge_reachability,
    judge_udp,
    judge_uniqueness,
    key_values,
    lb_probe_targets,
    probe_script,
    probe_targets,
    udp_listen_script,
    udp_not_probed,
    udp_read_script,
    udp_send_script,
)
from sugang.cluster.inventory import Inventory, Node, Role
from sugang.cluster.nodes import (
    NodeStatus,
    Report,
    list_nodes,
    wait_for_api,
    wait_for_nodes,
)
from sugang.cluster.plan import FAILED_MARK, LOAD_BALANCER, TOKEN_PLACEHOLDER, Action, Step
from sugang.cluster.render import (
    K3S_KUBECONFIG,
    NODE_TOKEN,
    kubeconfig_for,
    merge_kubeconfig,
)
from sugang.cluster.ssh import Host, HostError, connected, gather_all, on_a_server
from sugang.cluster.state import current_plan, read_token

SNAPSHOT_DIR = "/var/lib/rancher/k3s/server/db/snapshots"
# k3s-uninstall.sh deletes /var/lib/rancher/k3s; `down` copies the snapshots here first
KEPT_SNAPSHOTS = "/var/lib/rancher/sugang-snapshots"


@dataclass
class UpResult:
    changed: list[Step]
    nodes: list[NodeStatus]
    kubeconfig: Path
    kubeconfig_changed: bool


def default_kubeconfig() -> Path:
    first = os.environ.get("KUBECONFIG", "").split(os.pathsep)[0]
    return Path(first) if first else Path.home() / ".kube" / "config"


@dataclass
class Run:
    """What one `up` has done and learned so far."""

    inventory: Inventory
    hosts: dict[str, Host]
    report: Report
    kubeconfig: Path
    api_timeout: float
    token: str | None = None
    changed: list[Step] = field(default_factory=list)
    nodes: list[NodeStatus] = field(default_factory=list)
    kubeconfig_changed: bool = False


async def up(
    inventory: Inventory,
    report: Report,
    kubeconfig: Path,
    api_timeout: float = 300,
) -> UpResult:
    """Bring the cluster to what the inventory says. Safe to rerun: what is already right is
    left alone, and a run that failed continues from the first step not yet done."""
    names = [n.name for n in inventory.nodes]
    if inventory.load_balancer:
        names.append(LOAD_BALANCER)
    async with connected(inventory, names) as hosts:
        plan, token = await current_plan(inventory, hosts)
        run = Run(inventory, hosts, report, kubeconfig, api_timeout, token)
        names = [name for name, _, _ in plan.stages]
        through_first = names.index("first server") + 1
        for stage in plan.stages[:through_first]:
            await run_stage(run, stage)
        if token is None:  # the first server is new: the joiners' configs need its token
            plan, _ = await current_plan(inventory, hosts)
        for stage in plan.stages[through_first:]:
            await run_stage(run, stage)
    return UpResult(run.changed, run.nodes, kubeconfig, run.kubeconfig_changed)


async def run_stage(run: Run, stage: tuple[str, bool, list[Step]]) -> None:
    _, parallel, steps = stage
    if parallel:
        await gather_all([run_step(run, step) for step in steps])
    else:
        for step in steps:
            await run_step(run, step)


async def run_step(run: Run, step: Step) -> None:
    host = run.hosts[step.host]
    if step.action is Action.WAIT_API:
        await wait_for_api(host, run.api_timeout, run.report)
    elif step.action is Action.READ_TOKEN:
        run.token = await read_token(host)
        if run.token is None:
            raise HostError(host.name, step.action, f"{NODE_TOKEN} is missing or empty")
        run.report(host.name, "read the join token")
    elif step.action is Action.KUBECONFIG:
        k3s_yaml = await host.read(K3S_KUBECONFIG)
        if k3s_yaml is None:
            raise HostError(host.name, step.action, f"{K3S_KUBECONFIG} is missing")
        new = kubeconfig_for(k3s_yaml, run.inventory)
        run.kubeconfig_changed = write_kubeconfig(run.kubeconfig, new)
        state = "updated" if run.kubeconfig_changed else "unchanged"
        run.report(host.name, f"kubeconfig context {run.inventory.cluster.name!r}: {state}")
    elif step.action is Action.NODES:
        names = [n.name for n in run.inventory.nodes]
        run.nodes = await wait_for_nodes(host, names, run.api_timeout)
    elif not step.changes and not step.commands:
        run.report(step.host, f"{step.action}: {step.why}")
    else:
        await apply_step(host, step, run.report)
        if step.changes:
            run.changed.append(step)


async def apply_step(host: Host, step: Step, report: Report) -> None:
    report(step.host, f"{step.action}: {step.why}")
    for upload in step.uploads:
        await host.upload(upload.local, upload.remote, upload.mode, step=f"{step.action}: upload")
    for file in step.files:
        assert TOKEN_PLACEHOLDER not in file.content, "planned before the token was read"
        await host.write(file.path, file.content, file.mode, step=f"{step.action}: write")
    try:
        for command in step.commands:
            await host.run(command, step=str(step.action))
    except HostError:
        if step.action is Action.INSTALL:
            # marked so that the rerun installs again; the config stays (see FAILED_MARK)
            await host.run(f"mkdir -p /etc/rancher/k3s && touch {FAILED_MARK}", check=False)
        raise


def write_kubeconfig(path: Path, new: dict[str, Any]) -> bool:
    """Merge into the kubeconfig at `path` (0600); False when it already said the same."""
    existing = yaml.safe_load(path.read_text()) if path.exists() else None
    merged = merge_kubeconfig(existing, new)
    if merged == existing:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.sugang-tmp")
    temporary.touch(mode=0o600)
    temporary.chmod(0o600)
    temporary.write_text(yaml.safe_dump(merged, sort_keys=False))
    temporary.replace(path)
    return True


async def status(inventory: Inventory) -> list[NodeStatus]:
    """The nodes as the API sees them, asked on the first server that answers."""
    return await on_a_server(inventory, list_nodes)


async def down(
    inventory: Inventory, report: Report, stop_only: bool = False, keep_snapshots: bool = True
) -> None:
    """Agents first (together), then the joined servers, then the first server."""
    first = inventory.first_server
    order = [
        inventory.agents,
        [s for s in inventory.servers if s != first],
        [first],
    ]
    async with connected(inventory, [n.name for n in inventory.nodes]) as hosts:
        for group in order:
            if stop_only:
                await gather_all([_stop(hosts[n.name], report) for n in group])
            else:
                await gather_all(
                    [uninstall_k3s(hosts[n.name], n.role, report, keep_snapshots) for n in group]
                )


async def _stop(host: Host, report: Report) -> None:
    if await _installed(host, "/usr/local/bin/k3s-killall.sh", report):
        await _run_script(host, "/usr/local/bin/k3s-killall.sh", report)


async def uninstall_k3s(
    host: Host, role: Role, report: Report, keep_snapshots: bool = True
) -> None:
    """K3s's uninstall script; on a server the etcd snapshots are first copied where the
    script does not delete them (KEPT_SNAPSHOTS), unless told not to keep them."""
    script = "/usr/local/bin/" + (
        "k3s-uninstall.sh" if role is Role.SERVER else "k3s-agent-uninstall.sh"
    )
    if not await _installed(host, script, report):
        return
    if keep_snapshots and role is Role.SERVER:
        kept = await host.run(
            f'if [ -n "$(ls -A {SNAPSHOT_DIR} 2>/dev/null)" ]; then mkdir -p {KEPT_SNAPSHOTS} '
            f"&& cp -a {SNAPSHOT_DIR}/. {KEPT_SNAPSHOTS}/ && ls {SNAPSHOT_DIR} | wc -l; fi",
            step="keep the etcd snapshots",
        )
        if kept.stdout.strip():
            report(host.name, f"kept {kept.stdout.strip()} etcd snapshot(s) in {KEPT_SNAPSHOTS}")
    await _run_script(host, script, report)


async def _installed(host: Host, script: str, report: Report) -> bool:
    if (await host.run(f"[ -x {script} ]", check=False)).ok:
        return True
    report(host.name, "K3s is not installed")
    return False


async def _run_script(host: Host, script: str, report: Report) -> None:
    await host.run(script, step=script)
    report(host.name, f"ran {script}")


async def check(
    inventory: Inventory, on_node: Callable[[str, list[Finding]], None]
) -> list[Finding]:
    """Preflight on every node and the load balancer host at once; then flannel's UDP port
    between the nodes in three rounds (listen, send, read: a UDP port gives no answer to
    probe). `on_node` hears each host's findings as they come."""
    nodes = inventory.nodes
    names = [n.name for n in nodes] + ([LOAD_BALANCER] if inventory.load_balancer else [])
    async with connected(inventory, names) as hosts:
        gathered = await gather_all([hosts[n.name].run(GATHER, step="preflight") for n in nodes])
        node_facts = {n.name: key_values(g.stdout) for n, g in zip(nodes, gathered, strict=True)}
        # a probe that ufw drops is one `up` opens: a warning, not a failure
        ufw_active = frozenset(
            str(n.node_ip) for n in nodes if node_facts[n.name].get("ufw") == "active"
        )

        async def one(node: Node) -> tuple[str, dict[str, str], list[Finding]]:
            host = hosts[node.name]
            facts = node_facts[node.name]
            probes = await host.run(
                probe_script(probe_targets(inventory, node)), step="reachability"
            )
            rules = await host.run(iptables_script(node), step="firewall rules")
            findings = (
                judge_node(inventory, node, facts)
                + judge_reachability(node.name, str(node.node_ip), probes.stdout, ufw_active)
                + judge_iptables(inventory, node, facts, rules.stdout)
            )
            on_node(node.name, findings)
            return node.name, facts, findings

        async def balancer() -> tuple[str, dict[str, str], list[Finding]]:
            host = hosts[LOAD_BALANCER]
            facts = key_values((await host.run(LB_GATHER, step="preflight")).stdout)
            probes = await host.run(probe_script(lb_probe_targets(inventory)), step="reachability")
            findings = judge_load_balancer(inventory, facts, probes.stdout, ufw_active)
            on_node(LOAD_BALANCER, findings)
            return LOAD_BALANCER, facts, findings

        hosts_checked: list[Awaitable[tuple[str, dict[str, str], list[Finding]]]] = [
            one(node) for node in nodes
        ]
        if inventory.load_balancer:
            hosts_checked.append(balancer())
        results = await gather_all(hosts_checked)
        facts = {name: found for name, found, _ in results}

        async def listen(node: Node) -> dict[str, str]:
            if udp_not_probed(inventory, node, facts[node.name]):
                return {}
            script = udp_listen_script(inventory, node)
            return key_values((await hosts[node.name].run(script, step="UDP listener")).stdout)

        started = await gather_all([listen(n) for n in nodes])
        listeners = {n.name: found for n, found in zip(nodes, started, strict=True)}
        listening = [n for n in nodes if listeners[n.name].get("listener") == "listening"]

        async def read(node: Node) -> str:
            if node not in listening:
                return ""
            script = udp_read_script(listeners[node.name])
            return (await hosts[node.name].run(script, step="UDP listener")).stdout

        if listening:
            await gather_all(
                [
                    hosts[n.name].run(udp_send_script(inventory, n, listening), step="UDP probe")
                    for n in nodes
                ]
            )
        heard = await gather_all([read(n) for n in nodes])
    udp = [
        finding
        for node, received in zip(nodes, heard, strict=True)
        for finding in judge_udp(inventory, node, facts[node.name], listeners[node.name], received)
    ]
    unique = judge_uniqueness(inventory, facts)
    later = udp + unique
    for name in dict.fromkeys(f.node for f in later):
        on_node(name, [f for f in later if f.node == name])
    return [finding for _, _, findings in results for finding in findings] + later
