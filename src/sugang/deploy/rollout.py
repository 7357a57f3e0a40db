"""Apply the rendered kit to the cluster of the current kubeconfig context and wait for it.

The order: what the cluster already serves (with the HelmCharts that install the operators);
then, for each operator chart, its CRDs established and its Deployments Available (an
established CRD does not mean the operator's webhook answers), then its custom resources;
then the migration Job; then the API's rollout; then the objects an earlier deploy applied
that this one no longer has are pruned. Pods that cannot start (an image that cannot be
pulled, a crash loop) and a failed migration end the deploy at once, named.
"""

import json
import subprocess
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sugang.deploy.kit import (
    OVERLAY_ANNOTATION,
    PART_OF,
    Kind,
    KitError,
    Rendered,
    crd_name,
    group_of,
    kind_of,
    kubectl_path,
    to_yaml,
)
from sugang.deploy.secrets import SOURCES, values_in_cluster

NAMESPACE = "sugang"
FIELD_MANAGER = "sugang-deploy"
NODE_PORT = 30080  # Traefik's web entrypoint (multi-node's HelmChartConfig)
GRAFANA = "kubectl -n monitoring port-forward svc/kube-prometheus-stack-grafana 3000:80"
PROVIDES = "sugang.dev/provides"  # a HelmChart's annotation: the API groups it installs
GATE = "sugang.dev/deploy-gate"  # "false": the app does not wait for that chart
NON_GATE_WAIT = 300.0  # seconds a chart that is no gate is waited for before going on
# an autoscaler and KEDA's ScaledObject for the same Deployment fight (KEDA refuses the
# second): an orphan of these kinds goes before the new custom resources are applied
CONFLICTING = {("autoscaling", "HorizontalPodAutoscaler"), ("keda.sh", "ScaledObject")}
DATABASES = {("apps", "StatefulSet"), ("postgresql.cnpg.io", "Cluster")}
WEBHOOK_NOT_READY = (
    "failed calling webhook",
    "no endpoints available for service",
    "connection refused",
    "context deadline exceeded",
)
IMAGE_HINT = (
    "the node cannot get the image {image}: build and import it on every node (`make image`, "
    "then `sugang cluster images import dist/sugang-<version>.tar`), or push it to a registry "
    "the nodes can pull from and pass --image (docs/k3s.md, section 3)"
)
# seconds a reason must last before it ends the deploy (others end it at once): in ha the
# database's password Secret appears only once CloudNativePG has reconciled its Cluster, and a
# registry may fail a pull once and serve the next
STUCK_AFTER = {"CreateContainerConfigError": 90.0, "ErrImagePull": 20.0}
STUCK = {
    "ErrImagePull": IMAGE_HINT,
    "ImagePullBackOff": IMAGE_HINT,
    "ErrImageNeverPull": IMAGE_HINT,
    "InvalidImageName": "{image} is not an image name: check --image",
    "CreateContainerConfigError": "a Secret or ConfigMap it needs is missing or lacks a key",
    "CrashLoopBackOff": "it keeps exiting; its last words:\n{logs}",
}


@dataclass
class Kubectl:
    """The installed kubectl, pointed at one context (the current one if None)."""

    context: str | None = None
    binary: str = field(default_factory=kubectl_path)

    def attempt(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        command = [self.binary, *(["--context", self.context] if self.context else []), *args]
        return subprocess.run(command, input=stdin, capture_output=True, text=True, check=False)

    def run(self, *args: str, stdin: str | None = None, check: bool = True) -> str:
        answer = self.attempt(*args, stdin=stdin)
        if check and answer.returncode != 0:
            raise KitError(f"kubectl {' '.join(args[:3])} failed:\n{answer.stderr.strip()}")
        return answer.stdout

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args, "-o", "json"))


@dataclass(frozen=True)
class ApiResource:
    name: str  # plural: "deployments"
    group: str
    kind: str
    namespaced: bool

    @property
    def qualified(self) -> str:
        return f"{self.name}.{self.group}" if self.group else self.name


def discover(kubectl: Kubectl) -> dict[Kind, ApiResource]:
    """The kinds the cluster serves now (`kubectl api-resources`): built-in ones, K3s's
    (HelmChart, Traefik's) and those of the CRDs installed so far."""
    answer = kubectl.attempt("api-resources", "--no-headers")
    # an aggregated API that is down (metrics-server starting) fails the command, but the
    # rest of the list is printed and right
    if not answer.stdout.strip():
        raise KitError(f"kubectl api-resources failed:\n{answer.stderr.strip()}")
    served = {}
    for line in answer.stdout.splitlines():
        fields = line.split()
        if len(fields) < 4:
            continue
        name, api_version, namespaced, kind = fields[0], fields[-3], fields[-2], fields[-1]
        group = api_version.split("/")[0] if "/" in api_version else ""
        served[(group, kind)] = ApiResource(name, group, kind, namespaced == "true")
    return served


@dataclass(frozen=True)
class Owned:
    """An object an earlier `sugang deploy` applied (the kit's label, its field manager)."""

    group: str
    kind: str
    namespace: str
    name: str
    labels: dict[str, str]
    resource: str  # as kubectl names it: "deployments.apps"

    @property
    def key(self) -> tuple[str, str, str, str]:
        return self.group, self.kind, self.namespace, self.name

    @property
    def is_database(self) -> bool:
        component = self.labels.get("app.kubernetes.io/component")
        return (self.group, self.kind) in DATABASES and component == "database"

    def __str__(self) -> str:
        where = f" in {self.namespace}" if self.namespace else ""
        return f"{self.kind} {self.name}{where}"


def owned_objects(
    kubectl: Kubectl, served: dict[Kind, ApiResource], kinds: Iterable[Kind]
) -> list[Owned]:
    """What the kit's earlier deploys applied and is still there: objects of the kit's kinds
    that carry its label and were applied by this tool's field manager, and that no
    controller owns (a ReplicaSet, or an HPA KEDA made, carries labels it copied)."""
    resources = sorted({served[k].qualified for k in kinds if k in served})
    if not resources:
        return []
    items = kubectl.json(
        "get", ",".join(resources), "--all-namespaces", "-l", PART_OF, "--show-managed-fields"
    ).get("items", [])
    found = []
    for item in items:
        meta = item.get("metadata", {})
        applied = any(
            m.get("manager") == FIELD_MANAGER and m.get("operation") == "Apply"
            for m in meta.get("managedFields", [])
        )
        if applied and not meta.get("ownerReferences"):
            found.append(
                Owned(
                    *kind_of(item),
                    meta.get("namespace", ""),
                    meta["name"],
                    dict(meta.get("labels", {})),
                    served[kind_of(item)].qualified,
                )
            )
    return found


def secrets_in_cluster(kubectl: Kubectl) -> dict[str, str]:
    """The values of the kit's secrets the cluster holds (none on a first install)."""
    found: dict[str, list[dict[str, Any]]] = {}
    for namespace, selector in sorted({(s.namespace, s.selector) for s in SOURCES}):
        answer = kubectl.json("-n", namespace, "get", "secrets", "-l", selector)
        found.setdefault(namespace, []).extend(answer.get("items", []))
    return values_in_cluster(found)


Step = Callable[[str, float], None]  # what is happening, and how far (0..1) overall


@dataclass(frozen=True)
class Chart:
    """A HelmChart of the kit that installs an operator and its CRDs."""

    name: str
    namespace: str  # where its Deployments run
    groups: frozenset[str]
    gate: bool


def charts(rendered: Rendered) -> list[Chart]:
    found = []
    for d in rendered.documents:
        annotations = d["metadata"].get("annotations") or {}
        if d["kind"] == "HelmChart" and PROVIDES in annotations:
            found.append(
                Chart(
                    d["metadata"]["name"],
                    d["spec"]["targetNamespace"],
                    frozenset(annotations[PROVIDES].split(",")),
                    annotations.get(GATE, "true") != "false",
                )
            )
    return found


def deploy(
    kubectl: Kubectl,
    rendered: Rendered,
    kit_kinds: set[Kind],
    step: Step,
    timeout: float = 900,
    migrate_from: str | None = None,
) -> list[str]:
    """Apply and wait; the notes returned are what the operator should know (a monitoring
    stack still installing, objects pruned, an old database kept)."""
    deadline = time.monotonic() + timeout
    notes: list[str] = []
    step("asking the cluster what it serves and what an earlier deploy left", 0.01)
    served = discover(kubectl)
    present = rendered.keys()
    orphans = [o for o in owned_objects(kubectl, served, kit_kinds) if o.key not in present]
    running = deployed_overlay(kubectl)
    known = {o.key for o in orphans}
    orphans += [o for o in _databases_by_name(kubectl, served, present) if o.key not in known]
    databases = [o for o in orphans if o.is_database]
    if databases and migrate_from is None:
        raise KitError(
            f"the cluster runs {running or 'another overlay'}, whose database this overlay has "
            "no place for (" + _listed(databases) + "): deploying it would leave that database "
            "and its data behind and start the API on an empty one. Move the data with it "
            f"(docs/k3s.md, 'Switching overlays': `--migrate-from {running or 'OVERLAY'}` keeps "
            "the old database running, then `sugang db backup` from it and `sugang db "
            "restore` into the new one), or deploy the overlay the cluster runs."
        )
    if migrate_from is not None:
        if running and migrate_from != running:
            raise KitError(f"--migrate-from {migrate_from}: the cluster runs {running}")
        kept = [o for o in orphans if o.is_database or _beside_database(o)]
        orphans = [o for o in orphans if o not in kept]
        if kept:
            notes.append(
                "kept for the data move (delete them once the data is restored and checked): "
                + _listed(kept)
            )

    step("removing the previous release's finished migration Job", 0.02)
    _remove_finished_migration(kubectl)

    operator_charts = charts(rendered)
    provided = {group for chart in operator_charts for group in chart.groups}
    first: list[dict[str, Any]] = []
    later: list[dict[str, Any]] = []
    for d in rendered.documents:
        served_now = kind_of(d) in served and group_of(d) not in provided
        (first if served_now else later).append(d)
    step(f"applying {len(first)} resources (server-side)", 0.05)
    apply(kubectl, first, deadline)
    conflicting = [o for o in orphans if (o.group, o.kind) in CONFLICTING]
    if conflicting:
        step("removing what this overlay replaces (" + ", ".join(map(str, conflicting)) + ")", 0.08)
        delete(kubectl, conflicting)

    for i, chart in enumerate(operator_charts):
        own = [d for d in later if group_of(d) in chart.groups]
        if not own:
            continue
        share = 0.1 + 0.3 * i / len(operator_charts)
        wait_until = deadline if chart.gate else min(deadline, time.monotonic() + NON_GATE_WAIT)
        try:
            for crd in sorted({crd_name(d) for d in own}):
                step(f"waiting for the CRD {crd} (the chart {chart.name} installs it)", share)
                _wait_for_crd(kubectl, crd, wait_until)
            step(f"waiting for {chart.name}'s Deployments in {chart.namespace}", share)
            _wait_for_deployments(kubectl, chart.namespace, wait_until)
            step(f"applying {len(own)} resources of {chart.name}", share)
            apply(kubectl, own, wait_until)
        except KitError as error:
            if chart.gate:
                raise
            notes.append(
                f"{chart.name} is not ready yet, so its resources were not applied "
                f"({error}); the app does not need it: run `sugang deploy` again later"
            )
    rest = [d for d in later if group_of(d) not in provided]
    for crd in sorted({crd_name(d) for d in rest}):
        step(f"waiting for the CRD {crd}", 0.4)
        _wait_for_crd(kubectl, crd, deadline)
    if rest:
        step(f"applying {len(rest)} custom resources", 0.42)
        apply(kubectl, rest, deadline)

    step("waiting for the schema migration", 0.45)
    _wait_for_migration(kubectl, deadline)
    _wait_for_rollout(kubectl, deadline, lambda done: step("rolling out the API", 0.5 + done / 2))
    remaining = [o for o in orphans if (o.group, o.kind) not in CONFLICTING]
    if remaining:
        step("pruning what this overlay no longer has", 0.99)
        delete(kubectl, remaining)
        notes.append("pruned (an earlier deploy's, not in this overlay): " + _listed(remaining))
    step("ready", 1.0)
    return notes


DATABASE_NAMES = (
    ("apps", "StatefulSet", "sugang-postgres"),
    ("postgresql.cnpg.io", "Cluster", "sugang-db"),
)


def _databases_by_name(
    kubectl: Kubectl, served: dict[Kind, ApiResource], present: set[tuple[str, str, str, str]]
) -> list[Owned]:
    """The kit's databases the render lacks, found by name: a kit before 0.1's labels put
    none on ha's Cluster, and a database must never be left behind unnoticed."""
    found = []
    for group, kind, name in DATABASE_NAMES:
        resource = served.get((group, kind))
        if resource is None or (group, kind, NAMESPACE, name) in present:
            continue
        answer = kubectl.run(
            "-n", NAMESPACE, "get", f"{resource.qualified}/{name}", "-o", "json",
            "--ignore-not-found",
        )  # fmt: skip
        if answer.strip():
            labels = {"app.kubernetes.io/component": "database"}
            found.append(Owned(group, kind, NAMESPACE, name, labels, resource.qualified))
    return found


def deployed_overlay(kubectl: Kubectl) -> str | None:
    """The overlay the last deploy applied (recorded on the namespace), if any."""
    answer = kubectl.run("get", "namespace", NAMESPACE, "-o", "json", "--ignore-not-found")
    if not answer.strip():
        return None
    annotations = json.loads(answer)["metadata"].get("annotations") or {}
    overlay = annotations.get(OVERLAY_ANNOTATION)
    return str(overlay) if overlay else None


def _beside_database(owned: Owned) -> bool:
    """What the old database needs while its data moves: its Service, its operator's chart,
    and the NetworkPolicies (without its own, default-deny cuts it off)."""
    if owned.kind == "NetworkPolicy":
        return True
    return owned.labels.get("app.kubernetes.io/component") == "database" and owned.kind in {
        "Service",
        "PodDisruptionBudget",
        "HelmChart",
    }


def _listed(objects: Iterable[Owned]) -> str:
    return ", ".join(map(str, objects))


def apply(kubectl: Kubectl, documents: list[dict[str, Any]], deadline: float) -> None:
    """Server-side apply; an answer that an operator's webhook is not up yet is retried until
    the deadline (the operator's Deployment may be Available a moment before its Service
    has the endpoint)."""
    if not documents:
        return
    while True:
        answer = kubectl.attempt(
            "apply",
            "--server-side",
            f"--field-manager={FIELD_MANAGER}",
            "--force-conflicts",
            "-f",
            "-",
            stdin=to_yaml(documents),
        )
        if answer.returncode == 0:
            return
        webhook = "webhook" in answer.stderr and any(
            sign in answer.stderr for sign in WEBHOOK_NOT_READY
        )
        if not webhook or time.monotonic() + 5 > deadline:
            raise KitError(f"kubectl apply failed:\n{answer.stderr.strip()}")
        time.sleep(5)


def delete(kubectl: Kubectl, objects: list[Owned]) -> None:
    namespaces = sorted({o.namespace for o in objects})
    for namespace in namespaces:
        names = [f"{o.resource}/{o.name}" for o in objects if o.namespace == namespace]
        where = ["-n", namespace] if namespace else []
        kubectl.run(*where, "delete", *names, "--ignore-not-found", "--wait=true")


def uninstall(
    kubectl: Kubectl, kit_kinds: set[Kind], delete_data: bool, step: Step
) -> tuple[list[Owned], list[Owned]]:
    """Delete what the kit's deploys applied, the charts and namespaces last (custom resources
    go while their operators still run to clean up after them). The
    database, its secrets and its namespace stay unless `delete_data` (deleting the
    namespace deletes the volumes in it). (deleted, kept)."""
    step("finding what sugang deploy applied", 0.05)
    served = discover(kubectl)
    owned = owned_objects(kubectl, served, kit_kinds)
    if delete_data:
        kept: list[Owned] = []
    else:
        kept = [o for o in owned if _holds_data(o)]
    going = [o for o in owned if o not in kept]
    final = {("", "Namespace"), ("helm.cattle.io", "HelmChart")}
    last = [o for o in going if (o.group, o.kind) in final]
    first = [o for o in going if (o.group, o.kind) not in final]
    for share, batch in ((0.3, first), (0.8, last)):
        if batch:
            step(f"deleting {len(batch)} objects", share)
            delete(kubectl, batch)
    step("done", 1.0)
    return going, kept


def _holds_data(o: Owned) -> bool:
    """What the kept database needs to run on, and to be reached by a later deploy: its
    secrets, config, priority class and network policies, and the namespace (deleting it
    deletes the volumes in it)."""
    if o.namespace == NAMESPACE and o.kind in {"Secret", "NetworkPolicy"}:
        return True
    if o.kind == "ConfigMap" and o.name == "sugang-config":
        return True
    if o.kind == "PriorityClass":
        return True
    if (o.group, o.kind) == ("", "Namespace") and o.name == NAMESPACE:
        return True
    # the database, its volume's claims, and the operator that runs it
    return o.labels.get("app.kubernetes.io/component") == "database"


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
    """A Job's pod template cannot change; the new release's Job replaces the old one once it
    has finished, or once its pod cannot even start (an image the nodes cannot get, a crash
    loop: such a Job stays active for a long time, and nothing of it runs). A migration that
    is running is left alone (deleting it would stop it halfway)."""
    answer = kubectl.run(
        "-n", NAMESPACE, "get", "job", "sugang-migrate", "-o", "json", "--ignore-not-found"
    )  # fmt: skip
    if not answer.strip():
        return
    status = json.loads(answer).get("status", {})
    if status.get("active") and not (status.get("succeeded") or status.get("failed")):
        try:
            _stuck(kubectl, "job-name=sugang-migrate", Watch(patient=False))
        except KitError:
            pass  # its pod cannot start: nothing is migrating
        else:
            raise KitError(
                "the previous migration Job (sugang-migrate) is still running: wait until "
                "`kubectl -n sugang get job sugang-migrate` shows it complete, then deploy again"
            )
    kubectl.run(
        "-n", NAMESPACE, "delete", "job", "sugang-migrate", "--ignore-not-found", "--wait=true"
    )  # fmt: skip


def _wait_for_crd(kubectl: Kubectl, crd: str, deadline: float) -> None:
    while not kubectl.run("get", "crd", crd, "--ignore-not-found", "-o", "name").strip():
        if time.monotonic() > deadline:
            raise KitError(f"the CRD {crd} did not appear: is its HelmChart installing?")
        time.sleep(3)
    kubectl.run(
        "wait", "--for=condition=established", f"crd/{crd}", f"--timeout={_left(deadline)}s"
    )


def _wait_for_deployments(kubectl: Kubectl, namespace: str, deadline: float) -> None:
    """Every Deployment of an operator's namespace Available (its webhook answers)."""
    while True:
        items = kubectl.json("-n", namespace, "get", "deployments").get("items", [])
        waiting = [
            d["metadata"]["name"]
            for d in items
            if not any(
                c.get("type") == "Available" and c.get("status") == "True"
                for c in d.get("status", {}).get("conditions", [])
            )
        ]
        if items and not waiting:
            return
        if time.monotonic() > deadline:
            raise KitError(
                f"the Deployments in {namespace} are not Available: "
                + (", ".join(waiting) if items else "none yet")
            )
        time.sleep(3)


@dataclass
class Watch:
    """When each (pod, container, reason) was first seen waiting: some reasons end a deploy
    only once they have lasted (a Secret an operator has yet to write, a pull that may be
    retried)."""

    first_seen: dict[tuple[str, str, str], float] = field(default_factory=dict)
    patient: bool = True  # False: every reason counts at once

    def lasted(self, key: tuple[str, str, str]) -> float:
        if not self.patient:
            return float("inf")
        now = time.monotonic()
        return now - self.first_seen.setdefault(key, now)


def _stuck(kubectl: Kubectl, selector: str, watch: Watch, template_hash: str | None = None) -> None:
    """End the deploy when a pod cannot start: an image it cannot get, a crash loop, a missing
    Secret. Waiting the whole timeout would only hide it. Pods going away, and pods of an
    older ReplicaSet than `template_hash`'s, are not this release's."""
    pods = kubectl.json("-n", NAMESPACE, "get", "pods", "-l", selector).get("items", [])
    for pod in pods:
        meta = pod.get("metadata", {})
        if meta.get("deletionTimestamp"):
            continue
        if template_hash and (meta.get("labels") or {}).get("pod-template-hash") != template_hash:
            continue
        status = pod.get("status", {})
        for container in status.get("initContainerStatuses", []) + status.get(
            "containerStatuses", []
        ):
            waiting = container.get("state", {}).get("waiting") or {}
            reason = waiting.get("reason", "")
            if reason not in STUCK:
                continue
            name = meta["name"]
            if watch.lasted((name, container["name"], reason)) < STUCK_AFTER.get(reason, 0):
                continue
            logs = ""
            if reason == "CrashLoopBackOff":
                logs = kubectl.run(
                    "-n", NAMESPACE, "logs", name, "-c", container["name"],
                    "--previous", "--tail=15", check=False,
                ).strip() or "(no log)"  # fmt: skip
            hint = STUCK[reason].format(image=container.get("image", "?"), logs=logs)
            message = waiting.get("message", "").strip()
            raise KitError(
                f"pod {name}, container {container['name']}: {reason}"
                + (f" ({message})" if message else "")
                + f"\n{hint}"
            )


def _current_template_hash(kubectl: Kubectl) -> str | None:
    """The pod-template-hash of the API's newest ReplicaSet (None before there is one)."""
    sets = kubectl.json(
        "-n", NAMESPACE, "get", "replicasets", "-l", "app.kubernetes.io/component=api"
    ).get("items", [])
    owned = [
        r
        for r in sets
        if any(o.get("name") == "sugang-api" for o in r["metadata"].get("ownerReferences", []))
    ]
    if not owned:
        return None
    newest = max(
        owned,
        key=lambda r: int(
            (r["metadata"].get("annotations") or {}).get("deployment.kubernetes.io/revision", 0)
        ),
    )
    value = (newest["metadata"].get("labels") or {}).get("pod-template-hash")
    return str(value) if value else None


def _wait_for_migration(kubectl: Kubectl, deadline: float) -> None:
    watch = Watch()
    while True:
        job = kubectl.json("-n", NAMESPACE, "get", "job", "sugang-migrate")
        conditions = {
            c.get("type"): c for c in job.get("status", {}).get("conditions", [])
            if c.get("status") == "True"
        }  # fmt: skip
        if "Complete" in conditions:
            return
        if "Failed" in conditions:
            logs = kubectl.run(
                "-n", NAMESPACE, "logs", "job/sugang-migrate", "--tail=20", check=False
            ).strip()
            raise KitError(
                f"the schema migration failed ({conditions['Failed'].get('reason', 'Failed')}: "
                f"{conditions['Failed'].get('message', '')}); its log:\n{logs or '(none)'}"
            )
        _stuck(kubectl, "job-name=sugang-migrate", watch)
        if time.monotonic() > deadline:
            raise KitError(
                "the schema migration did not finish in time: "
                "kubectl -n sugang describe job sugang-migrate"
            )
        time.sleep(2)


def _wait_for_rollout(kubectl: Kubectl, deadline: float, progress: Callable[[float], None]) -> None:
    watch = Watch()
    while True:
        deployment = kubectl.json("-n", NAMESPACE, "get", "deployment", "sugang-api")
        wanted = deployment["spec"].get("replicas", 1)
        status = deployment.get("status", {})
        ready = min(status.get("updatedReplicas", 0), status.get("readyReplicas", 0))
        progress(ready / wanted if wanted else 1.0)
        current = status.get("observedGeneration", 0) >= deployment["metadata"]["generation"]
        if current and ready >= wanted and status.get("replicas", 0) == wanted:
            return
        _stuck(kubectl, "app.kubernetes.io/component=api", watch, _current_template_hash(kubectl))
        if time.monotonic() > deadline:
            raise KitError(f"the API rollout did not finish: {ready} of {wanted} ready")
        time.sleep(2)
