"""Who may connect to what, as the rendered NetworkPolicies say it: the rules evaluated the way
the NetworkPolicy API defines them (a pod no policy selects takes anything; a selected pod
takes what at least one rule of one selecting policy lets in; named ports resolved against the
target's containers), for every overlay, from the pods that matter: Traefik, Prometheus, the
API, the migration Job, the databases, CloudNativePG's operator, and a stranger."""

from dataclasses import dataclass, field
from typing import Any

import pytest

from sugang.deploy.kit import OVERLAYS

pytestmark = pytest.mark.slow  # renders every overlay with kubectl

Docs = list[dict[str, Any]]
NAMESPACE = "sugang"


@dataclass(frozen=True)
class Pod:
    namespace: str
    labels: dict[str, str]
    ports: dict[str, int] = field(default_factory=dict)  # container port names


TRAEFIK = Pod("kube-system", {"app.kubernetes.io/name": "traefik"})
PROMETHEUS = Pod("monitoring", {"app.kubernetes.io/name": "prometheus"})
CNPG_OPERATOR = Pod("cnpg-system", {"app.kubernetes.io/name": "cloudnative-pg"})
# a pod of some other application, in the namespace and out of it
NEIGHBOUR = Pod(NAMESPACE, {"app.kubernetes.io/name": "something-else"})
STRANGER = Pod("default", {"app": "curl"})


def selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        key, values = expression["key"], expression.get("values", [])
        verdict = {
            "In": labels.get(key) in values,
            "NotIn": labels.get(key) not in values,
            "Exists": key in labels,
            "DoesNotExist": key not in labels,
        }[expression["operator"]]
        if not verdict:
            return False
    return True


def peer_matches(peer: dict[str, Any], policy_namespace: str, source: Pod) -> bool:
    if "ipBlock" in peer:
        return False  # the kit names no addresses
    namespace_labels = {"kubernetes.io/metadata.name": source.namespace}
    if "namespaceSelector" in peer:
        in_namespace = selects(peer["namespaceSelector"], namespace_labels)
    else:
        in_namespace = source.namespace == policy_namespace
    return in_namespace and selects(peer.get("podSelector", {}), source.labels)


def admits(documents: Docs, source: Pod, target: Pod, port: int) -> bool:
    policies = [
        d
        for d in documents
        if d["kind"] == "NetworkPolicy"
        and d["metadata"]["namespace"] == target.namespace
        and "Ingress" in d["spec"].get("policyTypes", ["Ingress"])
        and selects(d["spec"]["podSelector"], target.labels)
    ]
    if not policies:
        return True
    for policy in policies:
        for rule in policy["spec"].get("ingress", []):
            peers = rule.get("from") or [{"namespaceSelector": {}}]  # none: from anywhere
            if not any(peer_matches(p, target.namespace, source) for p in peers):
                continue
            ports = rule.get("ports") or [{}]  # none: every port
            if any(
                "port" not in p or target.ports.get(p["port"], p["port"]) == port for p in ports
            ):
                return True
    return False


def pods(documents: Docs) -> dict[str, Pod]:
    """The kit's own pods by workload name (labels and named ports of the template)."""
    found = {}
    for d in documents:
        if d["kind"] in {"Deployment", "StatefulSet", "Job"}:
            template = d["spec"]["template"]
            ports = {
                p["name"]: p["containerPort"]
                for c in template["spec"]["containers"]
                for p in c.get("ports", [])
                if "name" in p
            }
            found[d["metadata"]["name"]] = Pod(NAMESPACE, template["metadata"]["labels"], ports)
    return found


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_namespace_denies_ingress_unless_a_policy_says_otherwise(
    rendered: dict[str, Docs], overlay: str
) -> None:
    documents = rendered[overlay]
    deny = [
        d
        for d in documents
        if d["kind"] == "NetworkPolicy"
        and d["spec"]["podSelector"] == {}
        and d["spec"]["policyTypes"] == ["Ingress"]
        and not d["spec"].get("ingress")
    ]
    assert [d["metadata"]["namespace"] for d in deny] == [NAMESPACE]
    # a pod the kit does not know (a debugging pod, another app's) takes nothing either
    assert not admits(documents, TRAEFIK, NEIGHBOUR, 8000)
    assert not admits(documents, NEIGHBOUR, NEIGHBOUR, 8000)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_only_traefik_reaches_the_api_and_only_prometheus_its_metrics(
    rendered: dict[str, Docs], overlay: str
) -> None:
    documents = rendered[overlay]
    found = pods(documents)
    api = found["sugang-api"]
    http, metrics = api.ports["http"], api.ports["metrics"]
    assert admits(documents, TRAEFIK, api, http)
    assert admits(documents, PROMETHEUS, api, metrics)
    assert not admits(documents, TRAEFIK, api, metrics)  # an Ingress could never reach it
    assert not admits(documents, PROMETHEUS, api, http)
    for other in (STRANGER, NEIGHBOUR, found["sugang-redis"], found["sugang-migrate"]):
        assert not admits(documents, other, api, http), other
        assert not admits(documents, other, api, metrics), other
    # Traefik in another namespace is not Traefik
    assert not admits(documents, Pod("default", TRAEFIK.labels), api, http)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_only_the_api_reaches_redis(rendered: dict[str, Docs], overlay: str) -> None:
    documents = rendered[overlay]
    found = pods(documents)
    redis, api = found["sugang-redis"], found["sugang-api"]
    assert admits(documents, api, redis, redis.ports["redis"])
    for other in (TRAEFIK, PROMETHEUS, STRANGER, NEIGHBOUR, found["sugang-migrate"]):
        for port in redis.ports.values():
            assert not admits(documents, other, redis, port), (other, port)


@pytest.mark.parametrize("overlay", [o for o in OVERLAYS if o != "ha"])
def test_only_the_api_and_the_migration_reach_postgresql(
    rendered: dict[str, Docs], overlay: str
) -> None:
    documents = rendered[overlay]
    found = pods(documents)
    postgres = found["sugang-postgres"]
    port = postgres.ports["postgres"]
    assert admits(documents, found["sugang-api"], postgres, port)
    assert admits(documents, found["sugang-migrate"], postgres, port)
    for other in (TRAEFIK, PROMETHEUS, STRANGER, NEIGHBOUR, found["sugang-redis"]):
        assert not admits(documents, other, postgres, port), other


def test_ha_redis_members_talk_to_each_other_and_the_api_to_the_sentinels(
    rendered: dict[str, Docs],
) -> None:
    documents = rendered["ha"]
    found = pods(documents)
    member, api = found["sugang-redis"], found["sugang-api"]
    redis, sentinel = member.ports["redis"], member.ports["sentinel"]
    assert admits(documents, member, member, redis)  # replication
    assert admits(documents, member, member, sentinel)  # gossip, votes, redis-node.sh
    assert admits(documents, api, member, sentinel)  # where is the primary?
    assert admits(documents, api, member, redis)
    for other in (TRAEFIK, STRANGER, NEIGHBOUR, found["sugang-migrate"]):
        assert not admits(documents, other, member, sentinel), other


def test_ha_cloudnativepg_keeps_working_behind_its_policy(rendered: dict[str, Docs]) -> None:
    documents = rendered["ha"]
    found = pods(documents)
    cluster = next(d for d in documents if d["kind"] == "Cluster")["metadata"]["name"]
    instance = Pod(NAMESPACE, {"cnpg.io/cluster": cluster, "cnpg.io/podRole": "instance"})
    join_job = Pod(NAMESPACE, {"cnpg.io/cluster": cluster, "cnpg.io/jobRole": "join"})
    # the operator reaches each instance's status port and PostgreSQL
    assert admits(documents, CNPG_OPERATOR, instance, 8000)
    assert admits(documents, CNPG_OPERATOR, instance, 5432)
    # the instances (and a new replica's base backup) reach each other
    assert admits(documents, instance, instance, 5432)
    assert admits(documents, join_job, instance, 5432)
    assert admits(documents, found["sugang-api"], instance, 5432)
    assert admits(documents, found["sugang-migrate"], instance, 5432)
    assert admits(documents, PROMETHEUS, instance, 9187)  # the Cluster's PodMonitor
    for other in (TRAEFIK, STRANGER, NEIGHBOUR, found["sugang-redis"]):
        assert not admits(documents, other, instance, 5432), other
    # the operator from another namespace is not the operator
    assert not admits(documents, Pod("default", CNPG_OPERATOR.labels), instance, 8000)
    # the single PostgreSQL's policy is gone with it
    assert "sugang-postgres" not in {
        d["metadata"]["name"] for d in documents if d["kind"] == "NetworkPolicy"
    }


def test_the_evaluator_follows_the_api() -> None:
    """The rules above, on policies made to tell them apart: nothing selected takes
    anything; a rule with no ports takes every port; a peer with only a podSelector means
    the policy's own namespace."""
    open_pod = Pod("elsewhere", {"x": "1"}, {"web": 80})
    assert admits([], STRANGER, open_pod, 80)
    policy = {
        "kind": "NetworkPolicy",
        "metadata": {"namespace": "elsewhere"},
        "spec": {
            "podSelector": {"matchLabels": {"x": "1"}},
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "curl"}}}]}],
        },
    }
    assert not admits([policy], STRANGER, open_pod, 80)  # same labels, other namespace
    assert admits([policy], Pod("elsewhere", {"app": "curl"}), open_pod, 80)
    assert admits([policy], Pod("elsewhere", {"app": "curl"}), open_pod, 9999)
