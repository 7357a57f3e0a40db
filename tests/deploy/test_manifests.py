"""Every overlay builds, every object is valid for a current K3s, and the objects agree with
each other and with the app (selectors, ports, probe paths, metric names)."""

import base64
import ipaddress
import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import kubernetes_validate
import promql_parser
import pytest
import yaml

from sugang.app import create_app
from sugang.config import Sentinels, Settings
from sugang.deploy.kit import OVERLAYS, Rendered, group_of
from sugang.deploy.rollout import PROVIDES, charts
from sugang.deploy.secrets import SOURCES
from sugang.runtime import Services
from sugang.system.health_port import HealthPort
from sugang.waitingroom.api import SSE_SECONDS
from tests.support.factories import Factory, login
from tests.support.paths import KIT, ROOT

pytestmark = pytest.mark.slow  # renders every overlay with kubectl

CRD_SCHEMAS = ROOT / "tests" / "deploy" / "crd-schemas"
# HelmChart.spec as K3s's helm-controller defines it (k3s-io/helm-controller,
# pkg/apis/helm.cattle.io/v1/types.go); no published schema package has it.
HELMCHART_FIELDS = {
    "targetNamespace", "createNamespace", "chart", "version", "repo", "repoCA", "repoCAConfigMap",
    "set", "valuesContent", "valuesSecrets", "helmVersion", "bootstrap", "chartContent",
    "jobImage", "backOffLimit", "timeout", "failurePolicy", "authSecret", "authPassCredentials",
    "insecureSkipTLSVerify", "plainHTTP", "dockerRegistrySecret", "podSecurityContext",
    "securityContext", "takeOwnership",
}  # fmt: skip
K3S_KUBERNETES = "1.34"  # K3s v1.34, the current stable channel
WORKLOADS = {"Deployment", "StatefulSet"}
# Metrics the alerts and the dashboard read from kube-state-metrics, not from sugang.
CLUSTER_METRICS = {
    "kube_horizontalpodautoscaler_status_current_replicas",
    "kube_horizontalpodautoscaler_spec_max_replicas",
    "kube_horizontalpodautoscaler_status_desired_replicas",
    "kube_deployment_status_replicas",
}
# Labels Prometheus adds to every target's samples (the PodMonitor adds node).
TARGET_LABELS = {"namespace", "job", "instance", "pod", "service", "endpoint", "node"}
# Read at scrape time from the shared room and database: every replica reports the same value.
ROOM_WIDE = {
    "sugang_waiting_room_depth",
    "sugang_waiting_room_admitted",
    "sugang_waiting_room_active_sessions",
    "sugang_waiting_room_admission_rate",
    "sugang_waiting_room_paused",
    "sugang_section_seats_left",
}
Docs = list[dict[str, Any]]
# the API groups of Kubernetes itself (kubernetes-validate knows their schemas), and what every
# K3s adds (helm-controller's HelmChart; Traefik's CRDs come with its bundled chart)
KUBERNETES_GROUPS = {
    "",
    "apps",
    "batch",
    "policy",
    "autoscaling",
    "networking.k8s.io",
    "scheduling.k8s.io",
    "rbac.authorization.k8s.io",
}
K3S_GROUPS = {"helm.cattle.io", "traefik.io"}


def of_kind(documents: Docs, kind: str) -> Docs:
    return [d for d in documents if d["kind"] == kind]


def pod_specs(documents: Docs) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(name, pod labels, pod spec) of every workload and Job."""
    found = []
    for d in documents:
        if d["kind"] in WORKLOADS | {"Job", "CronJob"}:
            spec = d["spec"]["jobTemplate"]["spec"] if d["kind"] == "CronJob" else d["spec"]
            template = spec["template"]
            found.append((d["metadata"]["name"], template["metadata"]["labels"], template["spec"]))
    return found


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_object_is_valid_for_k3s(rendered: dict[str, Docs], overlay: str) -> None:
    for document in rendered[overlay]:
        if group_of(document) in KUBERNETES_GROUPS:
            kubernetes_validate.validate(document, K3S_KUBERNETES, strict=True)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_object_carries_the_kits_label_and_every_api_group_has_a_source(
    rendered: dict[str, Docs], overlay: str
) -> None:
    """`sugang deploy` prunes and uninstalls by the label, and waits for the operator chart
    that declares (sugang.dev/provides) the group of a custom resource before applying it."""
    documents = rendered[overlay]
    for document in documents:
        labels = document["metadata"].get("labels", {})
        assert labels.get("app.kubernetes.io/part-of") == "sugang", document["metadata"]
    provided = {
        group
        for chart in of_kind(documents, "HelmChart")
        for group in chart["metadata"].get("annotations", {}).get(PROVIDES, "").split(",")
        if group
    }
    groups = {group_of(d) for d in documents}
    assert groups <= KUBERNETES_GROUPS | K3S_GROUPS | provided
    assert {c["metadata"]["name"] for c in of_kind(documents, "HelmChart")} <= {
        c.name for c in charts(Rendered("", documents))
    }  # every chart of the kit installs an operator the deploy waits for


def test_every_custom_resource_is_valid_against_its_operators_schema(
    rendered: dict[str, Docs],
) -> None:
    """PodMonitor, PrometheusRule, CloudNativePG Cluster, ScaledObject and Traefik's Middleware
    against the schemas generated from their CRDs (npm @kubernetes-models/*, run by Node)."""
    if shutil.which("node") is None or not (CRD_SCHEMAS / "node_modules").is_dir():
        pytest.fail("the CRD schemas are not installed: run `make crd-schemas` (needs Node.js 20+)")
    custom = [
        d
        for documents in rendered.values()
        for d in documents
        if group_of(d) not in KUBERNETES_GROUPS | {"helm.cattle.io"}
    ]
    kinds = {d["kind"] for d in custom}
    assert {"PodMonitor", "PrometheusRule", "Cluster", "ScaledObject", "Middleware"} <= kinds
    verdicts = schema_verdicts(custom)
    assert len(verdicts) == len(custom)
    assert [v for v in verdicts if v["errors"] is not None] == []


def test_the_schema_check_catches_a_wrong_custom_resource() -> None:
    wrong = [
        {
            "apiVersion": "monitoring.coreos.com/v1",
            "kind": "ServiceMonitor",
            "metadata": {"name": "wrong"},
            "spec": {"selector": {}, "endpoints": [{"port": 8000}]},
        }
    ]
    assert "port must be string" in schema_verdicts(wrong)[0]["errors"]


def schema_verdicts(objects: Docs) -> list[dict[str, Any]]:
    """One {kind, name, errors} per object from the published schemas (tests/deploy/crd-schemas)."""
    answer = subprocess.run(
        ["node", "validate.mjs"],
        cwd=CRD_SCHEMAS,
        input=json.dumps(objects),
        capture_output=True,
        text=True,
        check=True,
    )
    return [json.loads(line) for line in answer.stdout.splitlines()]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_helmchart_is_one_the_helm_controller_can_install(
    rendered: dict[str, Docs], overlay: str
) -> None:
    for chart in of_kind(rendered[overlay], "HelmChart"):
        spec = chart["spec"]
        assert chart["metadata"]["namespace"] == "kube-system"
        assert set(spec) <= HELMCHART_FIELDS, set(spec) - HELMCHART_FIELDS
        assert spec["repo"].startswith("https://") and spec["chart"] and spec["targetNamespace"]
        assert isinstance(yaml.safe_load(spec.get("valuesContent", "{}")), dict)
    for config in of_kind(rendered[overlay], "HelmChartConfig"):
        # K3s's helm-controller: HelmChartConfigSpec has these two fields only; the name
        # and namespace say which chart it adds values to
        assert config["metadata"]["namespace"] == "kube-system"
        assert set(config["spec"]) <= {"valuesContent", "failurePolicy"}
        assert isinstance(yaml.safe_load(config["spec"]["valuesContent"]), dict)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_service_selects_pods_and_targets_a_declared_port(
    rendered: dict[str, Docs], overlay: str
) -> None:
    documents = rendered[overlay]
    workloads = pod_specs(documents)
    for service in of_kind(documents, "Service"):
        selector = service["spec"]["selector"]
        matching = [spec for _, labels, spec in workloads if selector.items() <= labels.items()]
        assert matching, f"{service['metadata']['name']} selects no pods"
        declared = {
            p.get("name") or p["containerPort"]
            for spec in matching
            for c in spec["containers"]
            for p in c.get("ports", [])
        } | {
            p["containerPort"]
            for spec in matching
            for c in spec["containers"]
            for p in c.get("ports", [])
        }
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in declared, (service["metadata"]["name"], port)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_autoscaler_scales_an_api_whose_containers_request_cpu(
    rendered: dict[str, Docs], overlay: str
) -> None:
    documents = rendered[overlay]
    deployments = {d["metadata"]["name"]: d for d in of_kind(documents, "Deployment")}
    scaled = [h["spec"]["scaleTargetRef"] for h in of_kind(documents, "HorizontalPodAutoscaler")]
    scaled += [s["spec"]["scaleTargetRef"] for s in of_kind(documents, "ScaledObject")]
    assert scaled, "nothing autoscales the API"
    for target in scaled:
        deployment = deployments[target["name"]]
        spec = deployment["spec"]["template"]["spec"]
        for container in spec["containers"] + spec.get("initContainers", []):
            assert container["resources"]["requests"]["cpu"], container["name"]


def test_nodeport_30080_reaches_traefik_in_multi_node_and_replicas_spread(
    rendered: dict[str, Docs],
) -> None:
    """The port is a contract (a home router forwards 80 to it): it now belongs to Traefik's
    web entrypoint, so no request from outside reaches the API around Traefik."""
    for overlay in ("multi-node", "ha", "keda"):
        values = traefik_values(rendered[overlay])
        assert values["ports"]["web"]["nodePort"] == 30080
        assert values["ports"]["websecure"]["nodePort"] == 30443
    api = named(rendered["multi-node"], "Deployment", "sugang-api")
    assert api["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_traefik_keeps_the_students_address(rendered: dict[str, Docs], overlay: str) -> None:
    """The per-address buckets (on in production) need the student's address, not a node's:
    no hop may rewrite the source on the way to Traefik."""
    values = traefik_values(rendered[overlay])
    assert values["service"]["spec"]["externalTrafficPolicy"] == "Local"
    if overlay != "single-node":  # every node that takes a connection has its Traefik
        assert values["deployment"]["kind"] == "DaemonSet"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_traefik_reads_as_long_as_a_live_queue_page_lives(
    rendered: dict[str, Docs], overlay: str
) -> None:
    """Traefik v3's entrypoints stop reading at 60 s by default, and the stream is cut with
    them: each entrypoint must allow longer than the waiting room's event stream lives."""
    ports = traefik_values(rendered[overlay])["ports"]
    for entrypoint in ("web", "websecure"):
        read = ports[entrypoint]["transport"]["respondingTimeouts"]["readTimeout"]
        assert re.fullmatch(r"\d+s", read), read
        assert int(read[:-1]) > SSE_SECONDS


def traefik_values(documents: Docs) -> dict[str, Any]:
    """The values the kit adds to K3s's bundled Traefik chart (its HelmChartConfig)."""
    config = named(documents, "HelmChartConfig", "traefik")
    assert config["metadata"]["namespace"] == "kube-system"  # where K3s's HelmChart lives
    values: dict[str, Any] = yaml.safe_load(config["spec"]["valuesContent"])
    return values


def named(documents: Docs, kind: str, name: str) -> dict[str, Any]:
    return next(d for d in of_kind(documents, kind) if d["metadata"]["name"] == name)


def test_ha_runs_the_database_on_cloudnativepg_with_synchronous_replication(
    rendered: dict[str, Docs],
) -> None:
    documents = rendered["ha"]
    assert "sugang-postgres" not in {
        d["metadata"]["name"] for d in of_kind(documents, "StatefulSet")
    }
    cluster = of_kind(documents, "Cluster")[0]
    assert cluster["spec"]["instances"] == 3
    # a commit waits for a standby: a failover loses no acknowledged enrollment
    synchronous = cluster["spec"]["postgresql"]["synchronous"]
    assert synchronous["number"] >= 1 and synchronous["dataDurability"] == "required"
    assert cluster["spec"].get("enablePDB", True)
    config = named(documents, "ConfigMap", "sugang-config")
    pooler = of_kind(documents, "Pooler")[0]  # PgBouncer in front of the primary
    assert pooler["spec"] == {**pooler["spec"], "cluster": {"name": cluster["metadata"]["name"]},
                              "type": "rw"}  # fmt: skip
    assert config["data"]["POSTGRES_HOST"] == pooler["metadata"]["name"]
    migrate = named(documents, "Job", "sugang-migrate")["spec"]["template"]["spec"]
    host = next(e for e in migrate["containers"][0]["env"] if e["name"] == "POSTGRES_HOST")
    assert host["value"] == f"{cluster['metadata']['name']}-rw"  # DDL to the primary itself
    for _, _, spec in pod_specs(documents):
        for container in spec["containers"] + spec.get("initContainers", []):
            for env in container.get("env", []):
                if env["name"] == "POSTGRES_PASSWORD":
                    assert env["valueFrom"]["secretKeyRef"] == {
                        "name": "sugang-db-app",
                        "key": "password",
                    }


def test_ha_runs_redis_as_three_members_the_app_finds_through_sentinel(
    rendered: dict[str, Docs],
) -> None:
    documents = rendered["ha"]
    assert "sugang-redis" not in {d["metadata"]["name"] for d in of_kind(documents, "Deployment")}
    members = named(documents, "StatefulSet", "sugang-redis")
    assert members["spec"]["replicas"] == 3
    assert members["spec"]["volumeClaimTemplates"], "a member that comes back must not be empty"
    spec = members["spec"]["template"]["spec"]
    assert spec["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert {c["name"] for c in spec["containers"]} == {"redis", "sentinel"}
    headless = named(documents, "Service", members["spec"]["serviceName"])
    assert headless["spec"]["clusterIP"] == "None" and headless["spec"]["publishNotReadyAddresses"]

    pods = [f"sugang-redis-{i}.{headless['metadata']['name']}" for i in range(3)]
    sentinel_port = next(p["port"] for p in headless["spec"]["ports"] if p["name"] == "sentinel")
    env = {e["name"]: e.get("value") for e in spec["containers"][0]["env"]}
    assert env["MEMBERS"].split() == pods
    config = named(documents, "ConfigMap", "sugang-config")["data"]
    assert "SUGANG_REDIS_URL" not in config
    settings = Settings(
        redis_sentinels=config["SUGANG_REDIS_SENTINELS"],
        redis_master_name=config["SUGANG_REDIS_MASTER_NAME"],
    )
    assert isinstance(settings.redis, Sentinels)
    assert settings.redis.addresses == tuple((pod, sentinel_port) for pod in pods)
    assert settings.redis.master == env["MASTER_NAME"]


def test_ha_lets_one_pod_go_at_a_time_and_replaces_a_lost_nodes_pods_soon(
    rendered: dict[str, Docs],
) -> None:
    documents = rendered["ha"]
    for name in ("sugang-api", "sugang-redis"):
        budget = named(documents, "PodDisruptionBudget", name)
        assert budget["spec"] == {"maxUnavailable": 1, "selector": budget["spec"]["selector"]}
    for kind, name in (("Deployment", "sugang-api"), ("StatefulSet", "sugang-redis")):
        tolerations = named(documents, kind, name)["spec"]["template"]["spec"]["tolerations"]
        waits = {
            t["key"]: t["tolerationSeconds"] for t in tolerations if t["effect"] == "NoExecute"
        }
        assert waits.keys() == {"node.kubernetes.io/unreachable", "node.kubernetes.io/not-ready"}
        assert max(waits.values()) <= 60, (name, waits)


def test_the_queue_signal_falls_back_instead_of_vanishing(rendered: dict[str, Docs]) -> None:
    scaled = of_kind(rendered["keda"], "ScaledObject")[0]["spec"]
    fallback = scaled["fallback"]
    assert scaled["minReplicaCount"] < fallback["replicas"] <= scaled["maxReplicaCount"]
    assert fallback["failureThreshold"] >= 1


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_container_is_pinned_bounded_and_unprivileged(
    rendered: dict[str, Docs], overlay: str
) -> None:
    for name, _, spec in pod_specs(rendered[overlay]):
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        for container in spec["containers"] + spec.get("initContainers", []):
            image = container["image"]
            assert ":" in image.rsplit("/", 1)[-1] and not image.endswith(":latest"), image
            assert container["resources"]["requests"] and container["resources"]["limits"]
            context = container["securityContext"]
            assert (
                context["allowPrivilegeEscalation"] is False and context["readOnlyRootFilesystem"]
            )
            assert context["capabilities"]["drop"] == ["ALL"]
    for cluster in of_kind(rendered[overlay], "Cluster"):
        assert not cluster["spec"]["imageName"].endswith(":latest")
    for chart in of_kind(rendered[overlay], "HelmChart"):
        assert re.fullmatch(r"\d+\.\d+\.\d+", chart["spec"]["version"]), chart["metadata"]["name"]


async def test_the_api_reports_its_node_and_pod_and_its_probes_answer(
    rendered: dict[str, Docs], services: Services
) -> None:
    api = next(
        d
        for d in of_kind(rendered["multi-node"], "Deployment")
        if d["metadata"]["name"] == "sugang-api"
    )
    container = api["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e for e in container["env"]}
    assert env["NODE_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "spec.nodeName"
    assert env["POD_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    # liveness asks the app's own port (is the event loop alive?); readiness the health port,
    # whose thread answers however busy the loop is
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    config = named(rendered["multi-node"], "ConfigMap", "sugang-config")["data"]
    liveness, readiness = container["livenessProbe"], container["readinessProbe"]
    assert liveness["httpGet"]["port"] == "http" and readiness["httpGet"]["port"] == "health"
    assert ports["health"] == int(config["SUGANG_HEALTH_PORT"]) != ports["http"]
    assert (
        ports["metrics"]
        == int(config["SUGANG_METRICS_PORT"])
        not in {
            ports["http"],
            ports["health"],
        }
    )
    app = create_app(services=services)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        alive = await c.get(liveness["httpGet"]["path"])
    await services.system.readiness.verdict()
    health = HealthPort("127.0.0.1", 0, services.system.readiness.snapshot).start()
    try:
        ready = httpx.get(f"http://127.0.0.1:{health.port}{readiness['httpGet']['path']}")
    finally:
        health.stop()
    assert alive.status_code == 200, alive.text
    assert ready.status_code == 200, ready.text
    assert readiness["httpGet"]["path"] == "/readyz"
    assert liveness["httpGet"]["path"] == "/healthz"
    assert container["lifecycle"]["preStop"]
    assert api["spec"]["template"]["spec"]["topologySpreadConstraints"]


def test_the_ingress_is_traefik_and_reaches_the_api(rendered: dict[str, Docs]) -> None:
    documents = rendered["single-node"]
    ingresses = of_kind(documents, "Ingress")
    assert ingresses
    for ingress in ingresses:
        assert ingress["spec"]["ingressClassName"] == "traefik"
        backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
        service = named(documents, "Service", backend["name"])
        assert backend["port"]["name"] in {p["name"] for p in service["spec"]["ports"]}


def test_the_pods_are_scraped_on_their_metrics_port(rendered: dict[str, Docs]) -> None:
    documents = rendered["multi-node"]
    monitor = of_kind(documents, "PodMonitor")[0]
    api = named(documents, "Deployment", "sugang-api")["spec"]["template"]
    assert monitor["spec"]["selector"]["matchLabels"].items() <= api["metadata"]["labels"].items()
    endpoint = monitor["spec"]["podMetricsEndpoints"][0]
    assert endpoint["port"] == "metrics" and endpoint["path"] == "/metrics"
    ports = {p["name"]: p["containerPort"] for p in api["spec"]["containers"][0]["ports"]}
    config = named(documents, "ConfigMap", "sugang-config")["data"]
    assert ports["metrics"] == int(config["SUGANG_METRICS_PORT"])
    assert len(set(ports.values())) == len(ports)  # http, health and metrics all apart
    assert not of_kind(documents, "ServiceMonitor")


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_what_the_ingress_routes_to_exposes_only_http(
    rendered: dict[str, Docs], overlay: str
) -> None:
    """/metrics answers only on the metrics port, and no Service has that port: no Ingress
    (nor anyone with the Service's address) can reach it."""
    documents = rendered[overlay]
    for ingress in of_kind(documents, "Ingress"):
        for rule in ingress["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                backend = path["backend"]["service"]
                service = named(documents, "Service", backend["name"])
                assert [p["name"] for p in service["spec"]["ports"]] == ["http"]
                assert backend["port"]["name"] == "http"
    for service in of_kind(documents, "Service"):
        for port in service["spec"]["ports"]:
            assert port["targetPort"] not in {"metrics", 8002}, service["metadata"]["name"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_outside_request_goes_through_traefik(
    rendered: dict[str, Docs], overlay: str
) -> None:
    """No NodePort or LoadBalancer of the kit's own leads to a pod: only Traefik's (K3s's),
    so only Traefik's X-Forwarded-For reaches the API, which trusts K3s's pod network only."""
    documents = rendered[overlay]
    for service in of_kind(documents, "Service"):
        assert service["spec"].get("type", "ClusterIP") == "ClusterIP", service["metadata"]
        assert all("nodePort" not in p for p in service["spec"]["ports"])
    config = named(documents, "ConfigMap", "sugang-config")["data"]
    trusted = [part.strip() for part in config["FORWARDED_ALLOW_IPS"].split(",")]
    assert "*" not in trusted
    assert [ipaddress.ip_network(part) for part in trusted] == [
        ipaddress.ip_network("10.42.0.0/16")  # K3s's default --cluster-cidr
    ]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_traefik_terminates_tls_and_only_redirects_plain_http(
    rendered: dict[str, Docs], overlay: str
) -> None:
    documents = rendered[overlay]
    by_entrypoint = {
        i["metadata"]["annotations"]["traefik.ingress.kubernetes.io/router.entrypoints"]: i
        for i in of_kind(documents, "Ingress")
    }
    assert set(by_entrypoint) == {"web", "websecure"}
    secure = by_entrypoint["websecure"]
    assert secure["metadata"]["annotations"]["traefik.ingress.kubernetes.io/router.tls"] == "true"
    assert [t["secretName"] for t in secure["spec"]["tls"]] == ["sugang-tls"]
    plain = by_entrypoint["web"]
    assert "tls" not in plain["spec"]
    middlewares = plain["metadata"]["annotations"][
        "traefik.ingress.kubernetes.io/router.middlewares"
    ]
    for reference in middlewares.split(","):
        name, provider = reference.split("@")
        assert provider == "kubernetescrd"
        middleware = next(
            m
            for m in of_kind(documents, "Middleware")
            if f"{m['metadata']['namespace']}-{m['metadata']['name']}" == name
        )
        assert middleware["spec"]["redirectScheme"] == {"scheme": "https", "permanent": True}
    # No Secret of the kit holds the certificate: it is made on the cluster (docs/k3s.md)
    assert "sugang-tls" not in {s["metadata"]["name"] for s in of_kind(documents, "Secret")}


def test_the_cert_manager_example_issues_the_ingress_certificate(
    rendered: dict[str, Docs],
) -> None:
    example = [
        d for d in yaml.safe_load_all((KIT / "examples" / "cert-manager.yaml").read_text()) if d
    ]
    certificate = next(d for d in example if d["kind"] == "Certificate")
    secure = next(i for i in of_kind(rendered["multi-node"], "Ingress") if i["spec"].get("tls"))
    assert certificate["metadata"]["namespace"] == "sugang"
    assert certificate["spec"]["secretName"] == secure["spec"]["tls"][0]["secretName"]
    issuer = next(d for d in example if d["kind"] == "ClusterIssuer")
    assert certificate["spec"]["issuerRef"] == {
        "kind": "ClusterIssuer",
        "name": issuer["metadata"]["name"],
    }
    verdicts = schema_verdicts([d for d in example if group_of(d) == "cert-manager.io"])
    assert [v["errors"] for v in verdicts] == [None, None]
    for document in example:
        if group_of(document) not in KUBERNETES_GROUPS:
            continue
        kubernetes_validate.validate(document, K3S_KUBERNETES, strict=True)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_grafana_has_a_generated_password_and_no_node_port(
    rendered: dict[str, Docs], overlay: str
) -> None:
    documents = rendered[overlay]
    chart = named(documents, "HelmChart", "kube-prometheus-stack")
    grafana = yaml.safe_load(chart["spec"]["valuesContent"])["grafana"]
    assert grafana["service"]["type"] == "ClusterIP" and "nodePort" not in grafana["service"]
    admin = grafana["admin"]
    secret = named(documents, "Secret", admin["existingSecret"])  # no hash suffix: named
    assert secret["metadata"]["namespace"] == chart["spec"]["targetNamespace"]
    assert {admin["userKey"], admin["passwordKey"]} <= set(secret["data"])
    password = base64.b64decode(secret["data"][admin["passwordKey"]]).decode()
    assert password == "test-grafana-pw"  # from the kit's generated file (conftest)
    assert "adminPassword" not in grafana
    # the namespace is the kit's, so that the Secret can be applied before the chart runs
    assert chart["spec"]["targetNamespace"] in {
        n["metadata"]["name"] for n in of_kind(documents, "Namespace")
    }


def redis_password_ref(env: list[dict[str, Any]], name: str) -> dict[str, Any]:
    value = next(e for e in env if e["name"] == name)
    ref: dict[str, Any] = value["valueFrom"]["secretKeyRef"]
    return ref


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_redis_asks_for_the_generated_password_and_the_api_gives_it(
    rendered: dict[str, Docs], overlay: str
) -> None:
    documents = rendered[overlay]
    secrets = next(
        s
        for s in of_kind(documents, "Secret")
        if s["metadata"]["name"].startswith("sugang-redis-credentials")
    )  # its name with kustomize's hash, which the references carry too
    assert "REDIS_PASSWORD" in secrets["data"]
    generated = {"name": secrets["metadata"]["name"], "key": "REDIS_PASSWORD"}
    api = named(documents, "Deployment", "sugang-api")["spec"]["template"]["spec"]
    assert redis_password_ref(api["containers"][0]["env"], "SUGANG_REDIS_PASSWORD") == generated
    redis = next(
        d for d in documents if d["kind"] in WORKLOADS and d["metadata"]["name"] == "sugang-redis"
    )["spec"]["template"]["spec"]
    for container in redis["containers"]:
        env = container["env"]
        assert redis_password_ref(env, "REDIS_PASSWORD") == generated
        assert redis_password_ref(env, "REDISCLI_AUTH") == generated  # the probes' redis-cli
    if overlay != "ha":
        assert redis["containers"][0]["args"][-2:] == ["--requirepass", "$(REDIS_PASSWORD)"]


async def test_alerts_and_dashboard_read_only_metrics_the_app_exports(
    rendered: dict[str, Docs], services: Services, factory: Factory
) -> None:
    app = create_app(services=services)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        # a term in rush mode with a section, an enrollment and a queued student, so that
        # every family (the room's and the seats' scrape-time gauges too) has a sample
        term = await factory.term()
        section = await factory.section(term, capacity=5)
        admin = await login(c, await factory.staff())
        await c.post(
            "/api/v1/enrollments",
            json={"section_id": section},
            headers=await login_student(c, factory, "2026000001"),
        )
        opened = await c.patch(
            f"/api/v1/admin/terms/{term}/waiting-room", json={"rush_mode": True}, headers=admin
        )
        assert opened.status_code == 200, opened.text
        await c.post("/api/v1/queue/tickets", headers=await login_student(c, factory, "2026000002"))
        exposition = (await c.get("/metrics")).text
    exported = exposition_labels(exposition)
    queries = [
        *(
            r["expr"]
            for overlay in ("multi-node", "keda")
            for g in of_kind(rendered[overlay], "PrometheusRule")[0]["spec"]["groups"]
            for r in g["rules"]
        ),
        *(
            target["expr"]
            for panel in dashboard(rendered["multi-node"])["panels"]
            for target in panel.get("targets", [])
        ),
        *(
            trigger["metadata"]["query"]
            for scaler in of_kind(rendered["keda"], "ScaledObject")
            for trigger in scaler["spec"]["triggers"]
            if trigger["type"] == "prometheus"
        ),
    ]
    selectors = [found for query in queries for found in selectors_in(promql_parser.parse(query))]
    assert {name for name, _, _ in selectors} >= {"sugang_waiting_room_depth"}
    for name, labels, aggregation in selectors:
        if name in CLUSTER_METRICS:
            continue
        assert name in exported, f"{name} is not exported by the app"
        assert labels - TARGET_LABELS <= exported[name], (name, labels - exported[name])
        if name in ROOM_WIDE:
            # every replica reports the same shared value: a sum over pods would count it
            # once per replica (and make KEDA chase its own tail)
            assert aggregation in {"max", "min"}, (name, aggregation)


def dashboard(documents: Docs) -> dict[str, Any]:
    config = next(
        c
        for c in of_kind(documents, "ConfigMap")
        if c["metadata"]["name"] == "sugang-grafana-dashboard"
    )
    board: dict[str, Any] = json.loads(config["data"]["sugang.json"])
    return board


def exposition_labels(exposition: str) -> dict[str, set[str]]:
    """Every sample name in a Prometheus exposition, with the label names it carries."""
    found: dict[str, set[str]] = {}
    for line in exposition.splitlines():
        match = re.match(r"^(\w+)(?:\{(.*)\})? ", line)
        if match and not line.startswith("#"):
            labels = set(re.findall(r'(\w+)="', match.group(2) or ""))
            found.setdefault(match.group(1), set()).update(labels)
    return found


def selectors_in(
    expr: Any, aggregation: str | None = None
) -> Iterator[tuple[str, set[str], str | None]]:
    """(metric, label names matched, nearest enclosing aggregation) of every selector."""
    if isinstance(expr, promql_parser.VectorSelector):
        yield expr.name, {m.name for m in expr.matchers.matchers}, aggregation
        return
    if isinstance(expr, promql_parser.MatrixSelector):
        yield from selectors_in(expr.vector_selector, aggregation)
        return
    if isinstance(expr, promql_parser.AggregateExpr):
        aggregation = str(expr.op)
    for child in ("lhs", "rhs", "expr"):
        if hasattr(expr, child):
            yield from selectors_in(getattr(expr, child), aggregation)
    for argument in getattr(expr, "args", []) or []:
        yield from selectors_in(argument, aggregation)


async def login_student(c: httpx.AsyncClient, factory: Factory, number: str) -> dict[str, str]:
    await factory.student(number=number)
    return await login(c, number)


def test_no_secret_value_is_committed() -> None:
    tracked = subprocess.run(
        ["git", "ls-files", "deploy"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    examples = sorted(KIT.glob("**/*.env.example"))
    generated = {source.file: source for source in SOURCES}
    # the object store's keys are the operator's to give (components/backup-s3)
    given = {Path("components/backup-s3/s3.env")}
    assert {e.relative_to(KIT).with_suffix("") for e in examples} == set(generated) | given
    for example in examples:
        keys = [
            line.removesuffix("=")
            for line in example.read_text().splitlines()
            if "=" in line and not line.startswith("#")
        ]
        assert all("=" not in key for key in keys), example  # no value in an example
        env = example.relative_to(KIT).with_suffix("")
        if env in generated:
            assert keys == list(generated[env].keys), example
        assert f"deploy/k3s/{env}" not in tracked
    for path in tracked:
        text = (ROOT / path).read_text()
        assert "kind: Secret" not in text, f"{path} commits a Secret"


def test_ha_with_backups_to_an_object_store_renders_and_validates(kit: Path) -> None:
    """components/backup-s3 on top of ha: the Cluster archives through the Barman Cloud
    plugin to the ObjectStore, a ScheduledBackup runs nightly, the keys come from s3.env. The
    Cluster and ScheduledBackup are checked against CloudNativePG's schema; no schema of the
    plugin's ObjectStore is at hand here, so its references are checked by name."""
    overlay = kit / "overlays" / "ha-backup-test"
    overlay.mkdir(exist_ok=True)
    (kit / "components" / "backup-s3" / "s3.env").write_text(
        "ACCESS_KEY_ID=test-key\nACCESS_SECRET_KEY=test-secret\n"
    )
    (overlay / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
        "resources: [../ha]\ncomponents: [../../components/backup-s3]\n"
    )
    answer = subprocess.run(
        ["kubectl", "kustomize", str(overlay)], capture_output=True, text=True, check=True
    )
    documents = [d for d in yaml.safe_load_all(answer.stdout) if d]
    cluster = named(documents, "Cluster", "sugang-db")
    store = named(documents, "ObjectStore", "sugang-backups")
    scheduled = named(documents, "ScheduledBackup", "sugang-db-nightly")
    plugin = cluster["spec"]["plugins"][0]
    assert plugin["isWALArchiver"] and plugin["parameters"]["barmanObjectName"] == "sugang-backups"
    assert scheduled["spec"]["cluster"]["name"] == "sugang-db"
    assert scheduled["spec"]["pluginConfiguration"]["name"] == plugin["name"]
    assert len(scheduled["spec"]["schedule"].split()) == 6  # seconds first
    credentials = store["spec"]["configuration"]["s3Credentials"]
    secret = named(documents, "Secret", credentials["accessKeyId"]["name"])
    assert {credentials["accessKeyId"]["key"], credentials["secretAccessKey"]["key"]} == set(
        secret["data"]
    )
    verdicts = schema_verdicts([cluster, scheduled])
    assert [v["errors"] for v in verdicts] == [None, None]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_an_autoscaled_deployment_leaves_its_replica_count_to_the_autoscaler(
    rendered: dict[str, Docs], overlay: str
) -> None:
    """A redeploy during the rush must not reset the replicas the autoscaler chose."""
    documents = rendered[overlay]
    scaled = {
        d["spec"]["scaleTargetRef"]["name"]
        for d in documents
        if d["kind"] in {"HorizontalPodAutoscaler", "ScaledObject"}
    }
    assert scaled == {"sugang-api"}
    for deployment in of_kind(documents, "Deployment"):
        if deployment["metadata"]["name"] in scaled:
            assert "replicas" not in deployment["spec"]


def megabytes(value: str) -> int:
    number, unit = re.fullmatch(r"(\d+)\s*([A-Za-z]*)", value.strip()).groups()  # type: ignore[union-attr]
    return int(number) * {"kB": 1 / 1024, "MB": 1, "GB": 1024, "Mi": 1, "Gi": 1024}[unit]


def database_settings(documents: Docs) -> tuple[dict[str, str], dict[str, Any]]:
    """(PostgreSQL's parameters, the database container's resources) of either database."""
    clusters = of_kind(documents, "Cluster")
    if clusters:
        spec = clusters[0]["spec"]
        return dict(spec["postgresql"]["parameters"]), spec["resources"]
    container = of_kind(documents, "StatefulSet")[0]["spec"]["template"]["spec"]["containers"][0]
    args = container["args"]
    parameters = dict(a.split("=", 1) for a in args if "=" in a)
    return parameters, container["resources"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_postgres_accepts_every_pool_at_the_largest_scale(
    rendered: dict[str, Docs], overlay: str
) -> None:
    """maxReplicas, plus one surge pod of a rollout, × workers × (pool size + the side
    connection for readiness and metrics), plus room for the migration and an operator's psql,
    within max_connections; behind the ha overlay's PgBouncer, the API's connections within
    the pooler's client limit and the pooler's server connections within max_connections."""
    documents = rendered[overlay]
    config = next(
        c for c in of_kind(documents, "ConfigMap") if c["metadata"]["name"] == "sugang-config"
    )
    pool = int(config["data"]["SUGANG_DB_POOL_SIZE"]) + 1
    per_pod = int(config["data"]["SUGANG_WORKERS"]) * pool
    scalers = [
        d["spec"].get("maxReplicas", d["spec"].get("maxReplicaCount"))
        for d in documents
        if d["kind"] in {"HorizontalPodAutoscaler", "ScaledObject"}
    ]
    clients = (max(scalers) + 1) * per_pod
    parameters, _ = database_settings(documents)
    limit = int(parameters["max_connections"])
    poolers = of_kind(documents, "Pooler")
    if poolers:
        pooler = poolers[0]["spec"]
        bouncer = pooler["pgbouncer"]["parameters"]
        assert pooler["pgbouncer"]["poolMode"] == "transaction"
        assert int(bouncer["max_prepared_statements"]) > 0  # the driver's named statements
        assert config["data"]["POSTGRES_HOST"] == poolers[0]["metadata"]["name"]
        assert config["data"]["SUGANG_DB_POOLER"] == "pgbouncer"
        assert clients <= int(bouncer["max_client_conn"]), (clients, bouncer)
        servers = pooler["instances"] * int(bouncer["default_pool_size"])
        assert servers + 10 + 10 <= limit, (servers, limit)  # + CloudNativePG's own, psql
    else:
        assert "SUGANG_DB_POOLER" not in config["data"]
        assert clients + 10 <= limit, (clients, limit)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_postgres_has_the_memory_its_connections_can_take_and_no_cpu_cap(
    rendered: dict[str, Docs], overlay: str
) -> None:
    """An OOM kill resets every connection in the middle of the rush: the limit holds
    shared_buffers + max_connections × (work_mem + 3 MiB a backend) + maintenance_work_mem +
    256 MiB. The one tier that cannot scale out has no CPU limit."""
    parameters, resources = database_settings(rendered[overlay])
    needed = (
        megabytes(parameters["shared_buffers"])
        + int(parameters["max_connections"]) * (megabytes(parameters["work_mem"]) + 3)
        + megabytes(parameters["maintenance_work_mem"])
        + 256
    )
    limit = megabytes(resources["limits"]["memory"])
    assert needed <= limit, (overlay, needed, limit)
    assert "cpu" not in resources["limits"]
    assert megabytes(resources["requests"]["memory"]) <= limit


def test_the_alertmanager_example_routes_every_alert_to_a_declared_receiver(
    rendered: dict[str, Docs],
) -> None:
    """examples/alertmanager-receivers.yaml merges into the monitoring chart of the kit: the
    same HelmChartConfig name and namespace, and a route whose receivers all exist."""
    example = yaml.safe_load((KIT / "examples" / "alertmanager-receivers.yaml").read_text())
    chart = named(rendered["multi-node"], "HelmChart", "kube-prometheus-stack")
    assert example["kind"] == "HelmChartConfig"
    assert example["metadata"] == {"name": "kube-prometheus-stack", "namespace": "kube-system"}
    assert example["metadata"]["namespace"] == chart["metadata"]["namespace"]
    config = yaml.safe_load(example["spec"]["valuesContent"])["alertmanager"]["config"]
    declared = {r["name"] for r in config["receivers"]}
    routed = {config["route"]["receiver"]} | {r["receiver"] for r in config["route"]["routes"]}
    assert routed <= declared


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_prometheus_keeps_its_samples_on_a_volume_with_a_size_bound(
    rendered: dict[str, Docs], overlay: str
) -> None:
    chart = named(rendered[overlay], "HelmChart", "kube-prometheus-stack")
    values = yaml.safe_load(chart["spec"]["valuesContent"])
    spec = values["prometheus"]["prometheusSpec"]
    assert spec["retention"] and spec["retentionSize"]
    claim = spec["storageSpec"]["volumeClaimTemplate"]["spec"]
    requested = megabytes(claim["resources"]["requests"]["storage"])
    assert megabytes(spec["retentionSize"].replace("GB", "Gi")) < requested  # trimmed in time
    for part in ("prometheusOperator", "kube-state-metrics", "prometheus-node-exporter", "grafana"):
        assert "memory" in values[part]["resources"]["limits"], part
