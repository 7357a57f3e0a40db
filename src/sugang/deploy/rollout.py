"""Apply the rendered kit to the cluster of the current kubeconfig context and wait for it.

The order: resources of built-in APIs (with the HelmCharts that install the operators),
then, once their CRDs are established, the custom resources (PodMonitor, CloudNativePG
Cluster, ScaledObject); then the migration Job; then the API's rollout.
"""

import json
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sugang.deploy.kit import KitError, Rendered, kubectl_path, to_yaml

NAMESPACE = "sugang"
NODE_PORT = 30080  # Traefik's web entrypoint (multi-node's HelmChartConfig)
GRAFANA = "kubectl -n monitoring port-forward svc/kube-prometheus-stack-grafana 3000:80"


@dataclass
class Kubectl:
    """The installed kubectl, pointed at one context (the current one if None)."""

    context: str | None = None
    binary: str = field(default_factory=kubectl_path)

    def run(self, *args: str, stdin: str | None = None, check: bool = True) -> str:
        command = [self.binary, *(["--context", self.context] if self.context else []), *args]
        answer = subprocess.run(command, input=stdin, capture_output=True, text=True, check=False)
        if check and answer.returncode != 0:
            raise KitError(f"kubectl {' '.join(args[:3])} failed:\n{answer.stderr.strip()}")
        return answer.stdout

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args, "-o", "json"))


Step = Callable[[str, float], None]  # what is happening, and how far (0..1) overall


def deploy(kubectl: Kubectl, rendered: Rendered, step: Step, timeout: float = 900) -> None:
    deadline = time.monotonic() + timeout
    first, later = rendered.split()
    step("removing the previous release's finished migration Job", 0.02)
    _remove_finished_migration(kubectl)
    step(f"applying {len(first)} resources (server-side)", 0.05)
    apply(kubectl, first)
    for i, crd in enumerate(rendered.crds_needed()):
        step(f"waiting for the CRD {crd} (its chart is installing)", 0.1 + 0.2 * i / 4)
        _wait_for_crd(kubectl, crd, deadline)
    if later:
        step(f"applying {len(later)} custom resources", 0.35)
        apply(kubectl, later)
    step("waiting for the schema migration", 0.45)
    kubectl.run(
        "-n",
        NAMESPACE,
        "wait",
        "--for=condition=complete",
        "job/sugang-migrate",
        f"--timeout={_left(deadline)}s",
    )
    _wait_for_rollout(kubectl, deadline, lambda done: step("rolling out the API", 0.5 + done / 2))
    step("ready", 1.0)


def apply(kubectl: Kubectl, documents: list[dict[str, Any]]) -> None:
    kubectl.run(
        "apply",
        "--server-side",
        "--field-manager=sugang-deploy",
        "--force-conflicts",
        "-f",
        "-",
        stdin=to_yaml(documents),
    )


def endpoints(kubectl: Kubectl) -> list[str]:
    """Where the service answers: Traefik on 443 (and NodePort 30080, redirecting to it, in
    multi-node), and how to reach Grafana."""
    nodes = kubectl.json("get", "nodes")["items"]
    addresses = [
        next((a["address"] for a in n["status"]["addresses"] if a["type"] == kind), None)
        for n in nodes
        for kind in ("ExternalIP", "InternalIP")
    ]
    ips = sorted({a for a in addresses if a})
    try:
        traefik = kubectl.json("-n", "kube-system", "get", "service", "traefik")
    except KitError:  # a Traefik of another name: the addresses are still right
        traefik = {"spec": {}}
    node_ports = {p.get("name"): p.get("nodePort") for p in traefik["spec"].get("ports", [])}
    found = [f"https://{ip}/  (Traefik ingress)" for ip in ips]
    if node_ports.get("web") == NODE_PORT:
        found += [f"http://{ip}:{NODE_PORT}/  (NodePort, redirected to HTTPS)" for ip in ips]
    found.append(f"Grafana: {GRAFANA}, then http://localhost:3000/")
    return found


def _left(deadline: float) -> int:
    return max(1, int(deadline - time.monotonic()))


def _remove_finished_migration(kubectl: Kubectl) -> None:
    """A Job's pod template cannot change; the new release's Job replaces the old one, once
    it has finished (deleting a running one would stop a migration halfway: PostgreSQL rolls
    it back, and the next deploy would start it again)."""
    answer = kubectl.run(
        "-n",
        NAMESPACE,
        "get",
        "job",
        "sugang-migrate",
        "-o",
        "json",
        "--ignore-not-found",
    )
    if not answer.strip():
        return
    status = json.loads(answer).get("status", {})
    if status.get("active") and not (status.get("succeeded") or status.get("failed")):
        raise KitError(
            "the previous migration Job (sugang-migrate) is still running: wait until "
            "`kubectl -n sugang get job sugang-migrate` shows it complete, then deploy again"
        )
    kubectl.run("-n", NAMESPACE, "delete", "job", "sugang-migrate", "--wait=true")


def _wait_for_crd(kubectl: Kubectl, crd: str, deadline: float) -> None:
    while not kubectl.run("get", "crd", crd, "--ignore-not-found", "-o", "name").strip():
        if time.monotonic() > deadline:
            raise KitError(f"the CRD {crd} did not appear: is its HelmChart installing?")
        time.sleep(3)
    kubectl.run(
        "wait", "--for=condition=established", f"crd/{crd}", f"--timeout={_left(deadline)}s"
    )


def _wait_for_rollout(kubectl: Kubectl, deadline: float, progress: Callable[[float], None]) -> None:
    while True:
        deployment = kubectl.json("-n", NAMESPACE, "get", "deployment", "sugang-api")
        wanted = deployment["spec"].get("replicas", 1)
        status = deployment.get("status", {})
        ready = min(status.get("updatedReplicas", 0), status.get("readyReplicas", 0))
        progress(ready / wanted if wanted else 1.0)
        current = status.get("observedGeneration", 0) >= deployment["metadata"]["generation"]
        if current and ready >= wanted and status.get("replicas", 0) == wanted:
            return
        if time.monotonic() > deadline:
            raise KitError(f"the API rollout did not finish: {ready} of {wanted} ready")
        time.sleep(2)
