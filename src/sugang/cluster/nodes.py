"""The cluster as its API sees it: waiting for the API, the nodes and their readiness."""

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sugang.cluster.plan import Action
from sugang.cluster.ssh import Host, HostError

Report = Callable[[str, str], None]  # (host, what happened)
# set on a node sugang cordoned, so that a rerun after a failure uncordons it, and a node an
# operator cordoned stays cordoned
CORDONED_FOR = "sugang.dev/cordoned-for"


@dataclass(frozen=True)
class NodeStatus:
    name: str
    ready: bool
    roles: str
    version: str
    internal_ip: str
    unschedulable: bool = False  # cordoned
    cordoned_for: str | None = None  # why sugang cordoned it (CORDONED_FOR), if it did

    @property
    def etcd(self) -> bool:
        return "etcd" in self.roles.split(",")


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
        unschedulable=bool(item.get("spec", {}).get("unschedulable")),
        cordoned_for=item["metadata"].get("annotations", {}).get(CORDONED_FOR),
    )


async def wait_for_nodes(
    host: Host, names: list[str], timeout: float, version: str | None = None
) -> list[NodeStatus]:
    """Until every named node is registered and Ready (and its kubelet at `version`, when
    given). An API that does not answer meanwhile (its server restarting) is waited for."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            nodes = await list_nodes(host)
        except HostError:
            nodes = []
        done = {n.name for n in nodes if n.ready and version in (None, n.version)}
        missing = [name for name in names if name not in done]
        if not missing:
            return nodes
        if time.monotonic() > deadline:
            seen = {n.name: f"{n.version}, {'Ready' if n.ready else 'NotReady'}" for n in nodes}
            detail = ", ".join(f"{name} ({seen.get(name, 'absent')})" for name in missing)
            wanted = f"Ready at {version}" if version else "registered and Ready"
            raise HostError(host.name, str(Action.NODES), f"not {wanted}: {detail}")
        await asyncio.sleep(2)
