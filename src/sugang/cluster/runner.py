"""`sugang cluster up`, `status` and `down`, carried out over SSH: read the hosts' facts, plan,
run the plan stage by stage, and fetch the kubeconfig. Every decision is the planner's; this
module only talks to hosts."""

import asyncio
import json
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml

from sugang.cluster.checks import (
    GATHER,
    Finding,
    judge_node,
    judge_reachability,
    judge_uniqueness,
    parse,
    probe_script,
    probe_targets,
)
from sugang.cluster.inventory import Inventory, Node, Role
from sugang.cluster.plan import (
    LOAD_BALANCER,
    TOKEN_PLACEHOLDER,
    Action,
    HostFacts,
    Plan,
    Step,
    file_sha256,
    plan_up,
)
from sugang.cluster.render import (
    HAPROXY_CONFIG,
    K3S_CONFIG,
    K3S_KUBECONFIG,
    NGINX_INCLUDE,
    NGINX_MAIN_CONFIG,
    NGINX_STREAM_CONFIG,
    NODE_TOKEN,
    kubeconfig_for,
    merge_kubeconfig,
)
from sugang.cluster.ssh import Host, HostError, targets

Report = Callable[[str, str], None]  # (host, what happened)
T = TypeVar("T")

FACTS = f"""
echo "version=$(/usr/local/bin/k3s --version 2>/dev/null | head -n1 | cut -d' ' -f3)"
if [ -x /usr/local/bin/k3s-uninstall.sh ]; then echo role=server;
elif [ -x /usr/local/bin/k3s-agent-uninstall.sh ]; then echo role=agent; fi
echo "config=$(sha256sum {K3S_CONFIG} 2>/dev/null | cut -d' ' -f1)"
echo "binary=$(sha256sum /usr/local/bin/k3s 2>/dev/null | cut -d' ' -f1)"
if command -v ufw >/dev/null && ufw status 2>/dev/null | grep -q '^Status: active'; then
  echo ufw=active; fi
"""

LB_FACTS = {
    "nginx": f"""
command -v nginx >/dev/null && echo installed=yes
echo "config=$(sha256sum {NGINX_STREAM_CONFIG} 2>/dev/null | cut -d' ' -f1)"
grep -qxF '{NGINX_INCLUDE}' {NGINX_MAIN_CONFIG} 2>/dev/null && echo included=yes
if ls /etc/nginx/modules-enabled/*stream* >/dev/null 2>&1 \
  || nginx -V 2>&1 | grep -qE -- '--with-stream( |$)'; then echo stream=yes; fi
true
""",
    "haproxy": f"""
command -v haproxy >/dev/null && echo installed=yes
echo "config=$(sha256sum {HAPROXY_CONFIG} 2>/dev/null | cut -d' ' -f1)"
true
""",
}


@dataclass(frozen=True)
class NodeStatus:
    name: str
    ready: bool
    roles: str
    version: str
    internal_ip: str


@dataclass
class UpResult:
    changed: list[Step]
    nodes: list[NodeStatus]
    kubeconfig: Path
    kubeconfig_changed: bool


def default_kubeconfig() -> Path:
    first = os.environ.get("KUBECONFIG", "").split(os.pathsep)[0]
    return Path(first) if first else Path.home() / ".kube" / "config"


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


def parse_facts(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


async def node_facts(host: Host) -> HostFacts:
    found = parse_facts((await host.run(FACTS, step="read the host's state")).stdout)
    return HostFacts(
        k3s_version=found.get("version") or None,
        installed_as=Role(found["role"]) if found.get("role") else None,
        config_sha256=found.get("config") or None,
        binary_sha256=found.get("binary") or None,
        ufw_active=found.get("ufw") == "active",
    )


async def lb_facts(host: Host, kind: str) -> HostFacts:
    found = parse_facts((await host.run(LB_FACTS[kind], step="read the host's state")).stdout)
    return HostFacts(
        lb_installed=found.get("installed") == "yes",
        lb_config_sha256=found.get("config") or None,
        nginx_includes_stream=found.get("included") == "yes",
        nginx_has_stream=found.get("stream") == "yes",
    )


async def gather(inventory: Inventory, hosts: dict[str, Host]) -> dict[str, HostFacts]:
    names = [n.name for n in inventory.nodes]
    facts = await asyncio.gather(*(node_facts(hosts[name]) for name in names))
    found = dict(zip(names, facts, strict=True))
    if inventory.load_balancer:
        found[LOAD_BALANCER] = await lb_facts(hosts[LOAD_BALANCER], inventory.load_balancer.kind)
    return found


async def read_token(host: Host) -> str | None:
    token = await host.read(NODE_TOKEN)
    return token.strip() if token and token.strip() else None


async def current_plan(inventory: Inventory, hosts: dict[str, Host]) -> tuple[Plan, str | None]:
    """The plan from the hosts' state now, with the token if the first server has one."""
    facts = await gather(inventory, hosts)
    token = None
    if facts[inventory.first_server.name].installed_as is Role.SERVER:
        token = await read_token(hosts[inventory.first_server.name])
    airgap = inventory.cluster.airgap
    binary = file_sha256(airgap.k3s_binary) if airgap else None
    return plan_up(inventory, facts, token, binary), token


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


async def gather_all(runs: list[Awaitable[T]]) -> list[T]:
    """Run together; every one finishes, then the first failure is raised."""
    results = await asyncio.gather(*runs, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results  # type: ignore[return-value]


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
            # the config is set aside so that the rerun sees this node as not done
            await host.run(f"mv -f {K3S_CONFIG} {K3S_CONFIG}.failed", check=False)
        raise


async def wait_for_api(host: Host, timeout: float, report: Report) -> None:
    deadline = time.monotonic() + timeout
    while True:
        result = await host.run("k3s kubectl get --raw=/readyz", check=False, timeout=30)
        if result.ok and result.stdout.strip() == "ok":
            report(host.name, "the API is ready")
            return
        if time.monotonic() > deadline:
            raise HostError(host.name, Action.WAIT_API, result.output or "no answer")
        await asyncio.sleep(2)


async def list_nodes(host: Host) -> list[NodeStatus]:
    answer = await host.run("k3s kubectl get nodes -o json", step=str(Action.NODES), timeout=60)
    return [node_status(item) for item in json.loads(answer.stdout)["items"]]


def node_status(item: dict[str, Any]) -> NodeStatus:
    labels = item["metadata"].get("labels", {})
    roles = sorted(
        key.split("/", 1)[1] for key in labels if key.startswith("node-role.kubernetes.io/")
    )
    conditions = {c["type"]: c["status"] for c in item.get("status", {}).get("conditions", [])}
    addresses = {a["type"]: a["address"] for a in item.get("status", {}).get("addresses", [])}
    return NodeStatus(
        name=item["metadata"]["name"],
        ready=conditions.get("Ready") == "True",
        roles=",".join(roles) or "<none>",
        version=item.get("status", {}).get("nodeInfo", {}).get("kubeletVersion", "?"),
        internal_ip=addresses.get("InternalIP", "?"),
    )


async def wait_for_nodes(host: Host, names: list[str], timeout: float) -> list[NodeStatus]:
    """Until every node of the inventory is registered and Ready."""
    deadline = time.monotonic() + timeout
    while True:
        nodes = await list_nodes(host)
        ready = {n.name for n in nodes if n.ready}
        missing = [name for name in names if name not in ready]
        if not missing:
            return nodes
        if time.monotonic() > deadline:
            raise HostError(
                host.name, str(Action.NODES), f"not registered or not Ready: {', '.join(missing)}"
            )
        await asyncio.sleep(2)


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
    last: HostError | None = None
    for server in inventory.servers:
        try:
            async with connected(inventory, [server.name]) as hosts:
                return await list_nodes(hosts[server.name])
        except HostError as error:
            last = error
    assert last is not None
    raise last


async def down(inventory: Inventory, report: Report, stop_only: bool = False) -> None:
    """Agents first (together), then the joined servers, then the first server."""
    first = inventory.first_server
    order = [
        inventory.agents,
        [s for s in inventory.servers if s != first],
        [first],
    ]
    async with connected(inventory, [n.name for n in inventory.nodes]) as hosts:
        for group in order:
            await gather_all([_remove(hosts[n.name], n.role, stop_only, report) for n in group])


async def _remove(host: Host, role: Role, stop_only: bool, report: Report) -> None:
    if stop_only:
        script = "/usr/local/bin/k3s-killall.sh"
    elif role is Role.SERVER:
        script = "/usr/local/bin/k3s-uninstall.sh"
    else:
        script = "/usr/local/bin/k3s-agent-uninstall.sh"
    if not (await host.run(f"[ -x {script} ]", check=False)).ok:
        report(host.name, "K3s is not installed")
        return
    await host.run(script, step=script)
    report(host.name, f"ran {script}")


async def check(
    inventory: Inventory, on_node: Callable[[str, list[Finding]], None]
) -> list[Finding]:
    """Preflight on every node at once; `on_node` hears each node's findings as they come."""
    async with connected(inventory, [n.name for n in inventory.nodes]) as hosts:

        async def one(node: Node) -> tuple[str, dict[str, str], list[Finding]]:
            host = hosts[node.name]
            facts = parse((await host.run(GATHER, step="preflight")).stdout)
            probes = await host.run(
                probe_script(probe_targets(inventory, node)), step="reachability"
            )
            findings = judge_node(inventory, node, facts) + judge_reachability(node, probes.stdout)
            on_node(node.name, findings)
            return node.name, facts, findings

        results = await gather_all([one(node) for node in inventory.nodes])
    every = [finding for _, _, findings in results for finding in findings]
    unique = judge_uniqueness(inventory, {name: facts for name, facts, _ in results})
    for name in {f.node for f in unique}:
        on_node(name, [f for f in unique if f.node == name])
    return every + unique
