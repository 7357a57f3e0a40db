"""`sugang deploy`, run as a user runs it. --dry-run renders with the real kubectl. No Kubernetes
API server can run here, so the apply path runs against STAND-IN kubectl: a script first on
PATH that renders with the real kubectl, answers the cluster questions as a healthy K3s cluster
would, and records every call so the test can check what was asked and in which order."""

import base64
import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

pytestmark = pytest.mark.slow  # runs the sugang command per test

SUGANG = Path(sys.executable).parent / "sugang"

STAND_IN_KUBECTL = Path(__file__).with_name("stand_in_kubectl.py")


@pytest.fixture
def kit_without_secrets(tmp_path: Path) -> Path:
    copy = tmp_path / "k3s"
    shutil.copytree(Path(__file__).resolve().parents[2] / "deploy" / "k3s", copy)
    (copy / "base" / "secrets.env").unlink(missing_ok=True)
    (copy / "components" / "monitoring" / "secrets.env").unlink(missing_ok=True)
    return copy


@pytest.fixture
def stand_in(tmp_path: Path) -> dict[str, str]:
    """Environment with the STAND-IN kubectl first on PATH, and its log."""
    real = shutil.which("kubectl")
    assert real, "kubectl is needed (it renders the kit)"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "kubectl"
    script.write_text(f'#!/bin/sh\nexec {sys.executable} {STAND_IN_KUBECTL} "$@"\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "REAL_KUBECTL": real,
        "STAND_IN_LOG": str(tmp_path / "kubectl-calls.jsonl"),
        "STAND_IN_STATE": str(tmp_path / "cluster.json"),
        "STAND_IN_CONTEXT": "lab",
    }


def sugang(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SUGANG), *args],
        capture_output=True,
        text=True,
        env={"COLUMNS": "200", **(env or os.environ)},
        timeout=120,
        check=False,
    )


def calls(env: dict[str, str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in Path(env["STAND_IN_LOG"]).read_text().splitlines()]


SECRET_FILES = ("base/secrets.env", "base/database.env", "base/redis.env",
                "components/monitoring/secrets.env")  # fmt: skip


def env_values(kit: Path) -> dict[str, str]:
    values = {}
    for relative in SECRET_FILES:
        text = (kit / relative).read_text() if (kit / relative).exists() else ""
        values.update(dict(line.split("=", 1) for line in text.split()))
    return values


def state(env: dict[str, str]) -> dict[str, dict[str, Any]]:
    objects: dict[str, dict[str, Any]] = json.loads(Path(env["STAND_IN_STATE"]).read_text())[
        "objects"
    ]
    return objects


def applied_secret_values(env: dict[str, str]) -> dict[str, str]:
    """The secret values the stand-in cluster holds (the newest Secret per key)."""
    found: dict[str, tuple[str, str]] = {}
    for obj in state(env).values():
        if obj["kind"] == "Secret":
            stamp = obj["metadata"]["creationTimestamp"]
            for k, v in obj.get("data", {}).items():
                if k not in found or found[k][0] < stamp:
                    found[k] = (stamp, base64.b64decode(v).decode())
    return {k: v for k, (_, v) in found.items()}


def deploy(kit: Path, env: dict[str, str], *extra: str) -> subprocess.CompletedProcess[str]:
    return sugang("deploy", "--kit", str(kit), "--context", "lab", *extra, env=env)


def test_dry_run_prints_the_overlay_with_fresh_secrets_written_once(
    kit_without_secrets: Path,
) -> None:
    answer = sugang(
        "deploy", "--overlay", "multi-node", "--dry-run", "--kit", str(kit_without_secrets)
    )
    assert answer.returncode == 0, answer.stderr
    documents = [d for d in yaml.safe_load_all(answer.stdout) if d]
    kinds = {d["kind"] for d in documents}
    assert {"Namespace", "Deployment", "Service", "HorizontalPodAutoscaler", "Secret"} <= kinds
    for relative in SECRET_FILES:
        secrets_env = kit_without_secrets / relative
        assert stat.S_IMODE(secrets_env.stat().st_mode) == 0o600
        assert str(secrets_env) in answer.stderr
    values = env_values(kit_without_secrets)
    assert set(values) == {
        "SUGANG_SECRET_KEY",
        "POSTGRES_PASSWORD",
        "REDIS_PASSWORD",
        "admin-password",
    }
    assert all(len(v) >= 48 for v in values.values())
    assert not any(v in answer.stderr for v in values.values())
    assert "no cluster was asked" in answer.stderr

    again = sugang(
        "deploy", "--overlay", "multi-node", "--dry-run", "--kit", str(kit_without_secrets)
    )
    assert again.returncode == 0 and "generated" not in again.stderr
    assert "wrote" not in again.stderr
    assert env_values(kit_without_secrets) == values


def test_the_signing_key_and_the_credentials_are_separate_secrets(
    kit_without_secrets: Path,
) -> None:
    """Each pod gets only what it uses: Redis never sees the signing key or the database's
    password, PostgreSQL never the signing key."""
    answer = sugang(
        "deploy", "--overlay", "multi-node", "--dry-run", "--kit", str(kit_without_secrets)
    )
    documents = [d for d in yaml.safe_load_all(answer.stdout) if d]
    secrets = {
        d["metadata"]["name"].rsplit("-", 1)[0]: set(d["data"])
        for d in documents
        if d["kind"] == "Secret" and d["metadata"]["namespace"] == "sugang"
    }
    assert secrets == {
        "sugang-secrets": {"SUGANG_SECRET_KEY"},
        "sugang-db-credentials": {"POSTGRES_PASSWORD"},
        "sugang-redis-credentials": {"REDIS_PASSWORD"},
    }
    for d in documents:
        if d["kind"] not in {"Deployment", "StatefulSet"}:
            continue
        spec = d["spec"]["template"]["spec"]
        used = {
            e["valueFrom"]["secretKeyRef"]["name"].rsplit("-", 1)[0]
            for c in spec.get("initContainers", []) + spec["containers"]
            for e in c.get("env", [])
            if "secretKeyRef" in e.get("valueFrom", {})
        }
        if d["metadata"]["name"] in {"sugang-redis", "sugang-postgres"}:
            assert "sugang-secrets" not in used, d["metadata"]["name"]


def test_a_kit_from_before_the_split_keeps_its_values_in_the_new_files(
    kit_without_secrets: Path,
) -> None:
    """A kit whose secrets.env held every key: the database's password (PostgreSQL keeps the
    one it started with) moves to database.env, unchanged, and the missing key is added."""
    secrets_env = kit_without_secrets / "base" / "secrets.env"
    secrets_env.write_text(
        "SUGANG_SECRET_KEY=kept-secret-kept-secret-kept-secret\nPOSTGRES_PASSWORD=kept\n"
    )
    secrets_env.chmod(0o600)
    answer = sugang(
        "deploy", "--overlay", "single-node", "--dry-run", "--kit", str(kit_without_secrets)
    )
    assert answer.returncode == 0, answer.stderr
    assert secrets_env.read_text() == "SUGANG_SECRET_KEY=kept-secret-kept-secret-kept-secret\n"
    values = env_values(kit_without_secrets)
    assert values["POSTGRES_PASSWORD"] == "kept"
    assert len(values["REDIS_PASSWORD"]) >= 48
    assert "generated REDIS_PASSWORD, admin-password" in answer.stderr


def test_dry_run_runs_the_image_asked_for(kit_without_secrets: Path) -> None:
    answer = sugang(
        "deploy",
        "--overlay",
        "single-node",
        "--dry-run",
        "--kit",
        str(kit_without_secrets),
        "--image",
        "registry.lab:5000/sugang:0.2.0",
    )
    assert answer.returncode == 0, answer.stderr
    images = {
        c["image"]
        for d in yaml.safe_load_all(answer.stdout)
        if d
        and d["kind"] in {"Deployment", "Job"}
        and d["metadata"]["name"] in {"sugang-api", "sugang-migrate"}
        for c in d["spec"]["template"]["spec"].get("initContainers", [])
        + d["spec"]["template"]["spec"]["containers"]
    }
    assert images == {"registry.lab:5000/sugang:0.2.0"}


def test_deploy_applies_what_is_served_then_each_operators_resources_then_waits(
    kit_without_secrets: Path, stand_in: dict[str, str]
) -> None:
    answer = deploy(kit_without_secrets, stand_in, "--overlay", "multi-node")
    assert answer.returncode == 0, answer.stdout + answer.stderr
    made = calls(stand_in)
    asked = [c["args"] for c in made]
    cluster_calls = [a for a in asked if a[0] != "kustomize"]
    assert all(a[:2] == ["--context", "lab"] for a in cluster_calls)
    steps = [" ".join(a[2:6]) for a in cluster_calls]
    assert steps[:2] == ["-n monitoring get secrets", "-n sugang get secrets"]  # reused
    assert cluster_calls[0][6:8] == ["-l", "app.kubernetes.io/name=sugang"]  # only the kit's
    assert steps[2] == "api-resources --no-headers"
    applies = [i for i, s in enumerate(steps) if s.startswith("apply --server-side")]
    crd_waits = [i for i, s in enumerate(steps) if s.startswith("wait --for=condition=established")]
    operator = steps.index("-n monitoring get deployments")
    job_wait = max(i for i, s in enumerate(steps) if s == "-n sugang get job")
    rollout = [i for i, s in enumerate(steps) if s == "-n sugang get deployment"]
    assert len(applies) == 2 and applies[0] < min(crd_waits) and max(crd_waits) < operator
    assert operator < applies[1] < job_wait < rollout[0] and len(rollout) == 2

    applied = [c["stdin"] for c in made if c["args"][2:3] == ["apply"]]
    first = {d["kind"] for d in yaml.safe_load_all(applied[0])}
    later = {d["kind"] for d in yaml.safe_load_all(applied[1])}
    assert {
        "Namespace",
        "Deployment",
        "Job",
        "HelmChart",
        "HelmChartConfig",
        "HorizontalPodAutoscaler",
        "NetworkPolicy",
        "Ingress",
        "Secret",
        "Middleware",
    } <= first  # fmt: skip  (Traefik's Middleware: K3s serves it from the start)
    assert later == {"PodMonitor", "PrometheusRule"}
    waited = {
        a[-2].removeprefix("crd/") for a in cluster_calls if "--for=condition=established" in a
    }
    assert waited == {"podmonitors.monitoring.coreos.com", "prometheusrules.monitoring.coreos.com"}
    assert "--field-manager=sugang-deploy" in cluster_calls[applies[0]]
    assert (
        "generated SUGANG_SECRET_KEY" in answer.stderr
        and "the cluster has none yet" in answer.stderr
    )

    assert "https://192.168.0.11/" in answer.stdout
    assert "http://192.168.0.11:30080/" in answer.stdout  # NodePort 30080: Traefik
    assert "http://192.168.0.12:30080/" in answer.stdout
    assert "port-forward svc/kube-prometheus-stack-grafana" in answer.stdout
    assert "kubectl -n sugang get hpa -w" in answer.stdout


def test_a_fresh_checkout_reuses_the_clusters_secrets(
    kit_without_secrets: Path, stand_in: dict[str, str], tmp_path: Path
) -> None:
    """Another operator's machine (a kit with no env files, or with other values) deploys to
    the same cluster: the values the cluster holds are used and written to the kit."""
    first = deploy(kit_without_secrets, stand_in, "--overlay", "multi-node")
    assert first.returncode == 0, first.stderr
    installed = env_values(kit_without_secrets)
    assert applied_secret_values(stand_in) == {**installed, "admin-user": "admin"}

    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(kit_without_secrets, elsewhere)
    for relative in SECRET_FILES:
        (elsewhere / relative).unlink()
    (elsewhere / "base" / "redis.env").write_text("REDIS_PASSWORD=a-different-one\n")
    second = deploy(elsewhere, stand_in, "--overlay", "multi-node")

    assert second.returncode == 0, second.stderr
    assert env_values(elsewhere) == installed
    assert applied_secret_values(stand_in) == {**installed, "admin-user": "admin"}
    assert "\ngenerated" not in "\n" + second.stderr
    assert "took from the cluster" in second.stderr and "SUGANG_SECRET_KEY" in second.stderr
    assert "differed from the cluster's; kept the cluster's: REDIS_PASSWORD" in second.stderr
    assert not any(v in second.stdout + second.stderr for v in installed.values())


def test_rotating_changes_the_signing_key_only_and_says_what_it_breaks(
    kit_without_secrets: Path, stand_in: dict[str, str]
) -> None:
    assert deploy(kit_without_secrets, stand_in, "--overlay", "multi-node").returncode == 0
    before = env_values(kit_without_secrets)

    refused = sugang(
        "deploy",
        "--kit",
        str(kit_without_secrets),
        "--context",
        "lab",
        "--rotate-secrets",
        env=stand_in,
    )  # fmt: skip  (no --yes, and "no" on stdin: nothing changes)
    assert refused.returncode == 1 and "logs out every student" in refused.stderr
    assert env_values(kit_without_secrets) == before

    rotated = deploy(kit_without_secrets, stand_in, "--rotate-secrets", "--yes")
    assert rotated.returncode == 0, rotated.stderr
    after = env_values(kit_without_secrets)
    assert after["SUGANG_SECRET_KEY"] != before["SUGANG_SECRET_KEY"]
    assert {k: v for k, v in after.items() if k != "SUGANG_SECRET_KEY"} == {
        k: v for k, v in before.items() if k != "SUGANG_SECRET_KEY"
    }
    assert applied_secret_values(stand_in)["SUGANG_SECRET_KEY"] == after["SUGANG_SECRET_KEY"]
    assert "rotated SUGANG_SECRET_KEY" in rotated.stderr


def test_the_first_ha_deploy_waits_for_the_operator_and_retries_its_webhook(
    kit_without_secrets: Path, stand_in: dict[str, str]
) -> None:
    """CloudNativePG's CRDs are established before its webhook answers: the deploy waits for
    the operator's Deployment and retries an apply the webhook failed."""
    env = {**stand_in, "STAND_IN_OPERATOR_SLOW": "2", "STAND_IN_WEBHOOK_FAILS": "1"}
    answer = deploy(kit_without_secrets, env, "--overlay", "ha")
    assert answer.returncode == 0, answer.stdout + answer.stderr
    steps = [" ".join(c["args"][2:6]) for c in calls(env) if c["args"][0] != "kustomize"]
    operator_polls = [i for i, s in enumerate(steps) if s == "-n cnpg-system get deployments"]
    cnpg_applies = [
        i
        for i, c in enumerate(c for c in calls(env) if c["args"][0] != "kustomize")
        if c["stdin"] and "apiVersion: postgresql.cnpg.io" in c["stdin"]
    ]
    assert len(operator_polls) == 3  # not Available twice, then Available
    assert len(cnpg_applies) == 2 and cnpg_applies[0] > operator_polls[-1]  # refused, retried
    kinds = {o["kind"] for o in state(env).values()}
    assert "Cluster" in kinds


def test_an_image_the_nodes_cannot_pull_ends_the_deploy_at_once(
    kit_without_secrets: Path, stand_in: dict[str, str]
) -> None:
    env = {**stand_in, "STAND_IN_POD_WAITING": "api:wait-for-schema:ImagePullBackOff"}
    answer = deploy(kit_without_secrets, env, "--overlay", "multi-node", "--timeout", "600")
    assert answer.returncode == 1
    message = " ".join(answer.stderr.split())
    assert "pod sugang-api-5d9c7b8f4-q2w8e, container wait-for-schema: ImagePullBackOff" in message
    assert "sugang cluster images import" in message
    polls = [c for c in calls(env) if "deployment" in c["args"]]
    assert len(polls) == 1  # the first look, not 600 s of them


def test_a_crash_loop_ends_the_deploy_with_the_last_words(
    kit_without_secrets: Path, stand_in: dict[str, str]
) -> None:
    env = {**stand_in, "STAND_IN_POD_WAITING": "api:api:CrashLoopBackOff"}
    answer = deploy(kit_without_secrets, env, "--overlay", "multi-node")
    assert answer.returncode == 1
    assert "container api: CrashLoopBackOff" in answer.stderr
    assert "password authentication failed" in answer.stderr
    logs = [c["args"] for c in calls(env) if "logs" in c["args"]]
    assert logs and "--previous" in logs[0]


def test_a_failed_migration_ends_the_deploy_with_its_log(
    kit_without_secrets: Path, stand_in: dict[str, str]
) -> None:
    env = {**stand_in, "STAND_IN_JOB": "failed"}
    answer = deploy(kit_without_secrets, env, "--overlay", "multi-node")
    assert answer.returncode == 1
    assert "the schema migration failed (BackoffLimitExceeded" in answer.stderr
    assert "password authentication failed" in answer.stderr
    assert not [c for c in calls(env) if "deployment" in c["args"]]  # no rollout wait


def test_switching_to_keda_prunes_the_autoscaler_before_the_scaled_object(
    kit_without_secrets: Path, stand_in: dict[str, str]
) -> None:
    """KEDA refuses a ScaledObject for a Deployment an HPA already scales (the stand-in's
    webhook does too): the old HPA goes first, and nothing of multi-node is left behind."""
    assert deploy(kit_without_secrets, stand_in, "--overlay", "multi-node").returncode == 0
    answer = deploy(kit_without_secrets, stand_in, "--overlay", "keda")
    assert answer.returncode == 0, answer.stdout + answer.stderr
    kinds = {(o["kind"], o["metadata"]["name"]) for o in state(stand_in).values()}
    assert ("HorizontalPodAutoscaler", "sugang-api") not in kinds
    assert ("ScaledObject", "sugang-api") in kinds
    steps = [" ".join(c["args"][2:]) for c in calls(stand_in) if c["args"][0] != "kustomize"]
    second = steps[max(i for i, s in enumerate(steps) if s.startswith("api-resources")) :]
    hpa_gone = next(i for i, s in enumerate(second) if "delete horizontalpodautoscalers" in s)
    scaled = next(i for i, s in enumerate(second) if s.startswith("apply") and i > hpa_gone)
    assert hpa_gone < scaled


def test_switching_to_ha_would_orphan_the_database_and_is_refused(
    kit_without_secrets: Path, stand_in: dict[str, str]
) -> None:
    assert deploy(kit_without_secrets, stand_in, "--overlay", "multi-node").returncode == 0
    before = state(stand_in)
    answer = deploy(kit_without_secrets, stand_in, "--overlay", "ha")
    assert answer.returncode == 1
    message = " ".join(answer.stderr.split())
    assert "the cluster runs multi-node" in message
    assert "StatefulSet sugang-postgres in sugang" in message and "--migrate-from" in message
    assert state(stand_in) == before  # nothing applied, nothing deleted

    moved = deploy(kit_without_secrets, stand_in, "--overlay", "ha", "--migrate-from", "multi-node")
    assert moved.returncode == 0, moved.stdout + moved.stderr
    kinds = {(o["kind"], o["metadata"]["name"]) for o in state(stand_in).values()}
    assert {("StatefulSet", "sugang-postgres"), ("Cluster", "sugang-db")} <= kinds
    assert ("Deployment", "sugang-redis") not in kinds  # replaced by the sentinels: pruned
    assert "kept for the data move" in " ".join(moved.stderr.split())


def test_uninstall_keeps_the_data_unless_told(
    kit_without_secrets: Path, stand_in: dict[str, str]
) -> None:
    assert deploy(kit_without_secrets, stand_in, "--overlay", "multi-node").returncode == 0
    controller_made = {
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "made-by-a-controller", "namespace": "sugang",
                     "labels": {"app.kubernetes.io/part-of": "sugang"},
                     "managedFields": [{"manager": "some-operator", "operation": "Update"}]},
    }  # fmt: skip
    cluster = json.loads(Path(stand_in["STAND_IN_STATE"]).read_text())
    cluster["objects"]["|Secret|sugang|made-by-a-controller"] = controller_made
    Path(stand_in["STAND_IN_STATE"]).write_text(json.dumps(cluster))

    answer = sugang("deploy", "--uninstall", "--context", "lab", "--kit", str(kit_without_secrets),
                    env=stand_in)  # fmt: skip
    assert answer.returncode == 0, answer.stdout + answer.stderr
    left = {(o["kind"], o["metadata"]["name"]) for o in state(stand_in).values()}
    assert ("StatefulSet", "sugang-postgres") in left and ("Namespace", "sugang") in left
    # what the kept database needs to start again: its config, priority, network policies
    assert {("ConfigMap", "sugang-config"), ("PriorityClass", "sugang-critical"),
            ("NetworkPolicy", "default-deny-ingress")} <= left  # fmt: skip
    assert ("Secret", "made-by-a-controller") in left  # not applied by sugang deploy
    assert any(kind == "Secret" and name.startswith("sugang-db-credentials") for kind, name in left)
    assert not {("Deployment", "sugang-api"), ("HelmChart", "kube-prometheus-stack")} & left
    assert "--delete-data" in answer.stdout

    everything = sugang(
        "deploy", "--uninstall", "--delete-data", "--yes", "--context", "lab",
        "--kit", str(kit_without_secrets), env=stand_in,
    )  # fmt: skip
    assert everything.returncode == 0, everything.stderr
    assert {(o["kind"], o["metadata"]["name"]) for o in state(stand_in).values()} == {
        ("Secret", "made-by-a-controller")
    }


def test_a_finished_migration_job_is_replaced(
    kit_without_secrets: Path, stand_in: dict[str, str]
) -> None:
    assert deploy(kit_without_secrets, stand_in, "--overlay", "single-node").returncode == 0
    answer = deploy(
        kit_without_secrets,
        {**stand_in, "STAND_IN_WEB_NODE_PORT": "31234"},  # single-node: K3s's own pick
        "--overlay", "single-node",
    )  # fmt: skip
    assert answer.returncode == 0, answer.stderr
    asked = [" ".join(c["args"][2:]) for c in calls(stand_in) if c["args"][0] != "kustomize"]
    second = asked[max(i for i, s in enumerate(asked) if s.startswith("api-resources")) :]
    deleted = second.index("-n sugang delete job sugang-migrate --ignore-not-found --wait=true")
    assert deleted < next(i for i, a in enumerate(second) if a.startswith("apply"))
    assert "(Traefik ingress)" in answer.stdout and ":31234" not in answer.stdout


def test_a_migration_job_still_running_is_left_alone(
    kit_without_secrets: Path, stand_in: dict[str, str]
) -> None:
    """Deleting it would stop a migration halfway: the deploy says so and changes nothing."""
    running = {
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": "sugang-migrate", "namespace": "sugang"},
        "status": {"active": 1},
    }  # fmt: skip
    Path(stand_in["STAND_IN_STATE"]).write_text(
        json.dumps({"objects": {"batch|Job|sugang|sugang-migrate": running}, "counters": {}})
    )
    answer = deploy(kit_without_secrets, stand_in, "--overlay", "single-node")
    assert answer.returncode != 0 and "still running" in answer.stderr
    asked = [" ".join(c["args"][2:]) for c in calls(stand_in)[1:]]
    assert not any(a.startswith(("apply", "-n sugang delete")) for a in asked), asked


def test_a_cluster_error_is_reported_plainly(
    kit_without_secrets: Path, stand_in: dict[str, str]
) -> None:
    answer = sugang(
        "deploy", "--kit", str(kit_without_secrets), "--context", "nowhere", env=stand_in
    )
    assert answer.returncode == 1
    assert 'context "nowhere" does not exist' in answer.stderr
    assert "Traceback" not in answer.stderr


def test_without_kubectl_it_says_how_to_get_it(kit_without_secrets: Path, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    answer = sugang(
        "deploy",
        "--dry-run",
        "--kit",
        str(kit_without_secrets),
        env={**os.environ, "PATH": str(empty)},
    )
    assert answer.returncode == 1
    assert "kubectl is not installed" in answer.stderr and "Traceback" not in answer.stderr


def test_an_unknown_overlay_is_refused(kit_without_secrets: Path) -> None:
    answer = sugang("deploy", "--overlay", "huge", "--dry-run", "--kit", str(kit_without_secrets))
    assert answer.returncode == 1 and "unknown overlay 'huge'" in answer.stderr


def test_a_cluster_deployed_before_the_split_keeps_its_values(
    kit_without_secrets: Path, stand_in: dict[str, str]
) -> None:
    """A cluster deployed by an older kit holds every key in one sugang-secrets-<hash>: the
    new files take its values (the database's password above all), nothing is generated."""

    def secret(name: str, namespace: str, labels: dict[str, str], **data: str) -> dict[str, Any]:
        return {
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": name, "namespace": namespace, "labels": labels,
                         "creationTimestamp": "2026-03-02T09:00:00.000000+00:00"},
            "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()},
        }  # fmt: skip

    old = {
        "|Secret|sugang|sugang-secrets-7g2h9k4m5t": secret(
            "sugang-secrets-7g2h9k4m5t", "sugang", {"app.kubernetes.io/part-of": "sugang"},
            SUGANG_SECRET_KEY="old-key", POSTGRES_PASSWORD="old-db", REDIS_PASSWORD="old-redis",
        ),
        "|Secret|monitoring|sugang-grafana-admin": secret(
            "sugang-grafana-admin", "monitoring",
            {"app.kubernetes.io/name": "sugang", "app.kubernetes.io/component": "monitoring"},
            **{"admin-user": "admin", "admin-password": "old-grafana"},
        ),
    }  # fmt: skip
    Path(stand_in["STAND_IN_STATE"]).write_text(json.dumps({"objects": old, "counters": {}}))

    answer = deploy(kit_without_secrets, stand_in, "--overlay", "multi-node")

    assert answer.returncode == 0, answer.stdout + answer.stderr
    assert env_values(kit_without_secrets) == {
        "SUGANG_SECRET_KEY": "old-key",
        "POSTGRES_PASSWORD": "old-db",
        "REDIS_PASSWORD": "old-redis",
        "admin-password": "old-grafana",
    }
    assert "\ngenerated" not in "\n" + answer.stderr


def test_a_migration_job_whose_pod_cannot_start_is_replaced_by_the_next_deploy(
    kit_without_secrets: Path, stand_in: dict[str, str]
) -> None:
    """A Job whose image cannot be pulled stays active and migrates nothing: the deploy names
    it; the next deploy, with the image fixed, replaces the Job instead of waiting on it."""
    stuck = {**stand_in, "STAND_IN_POD_WAITING": "migrate:migrate:ImagePullBackOff"}
    failed = deploy(kit_without_secrets, stuck, "--overlay", "multi-node")
    assert failed.returncode == 1 and "container migrate: ImagePullBackOff" in failed.stderr

    fixed = deploy(kit_without_secrets, stuck, "--overlay", "multi-node", "--image", "sugang:0.1.1")
    assert "still running" not in fixed.stderr
    asked = [" ".join(c["args"][2:]) for c in calls(stuck) if c["args"][0] != "kustomize"]
    second = asked[max(i for i, a in enumerate(asked) if a.startswith("api-resources")) :]
    assert "-n sugang delete job sugang-migrate --ignore-not-found --wait=true" in second


def test_a_database_of_an_older_kit_without_the_label_is_not_left_behind(
    kit_without_secrets: Path, stand_in: dict[str, str]
) -> None:
    """The ha overlay of the kit before this one put no part-of label on its Cluster: the
    switch to multi-node still sees it, by name, and refuses."""
    unlabelled = {
        "helm.cattle.io|HelmChart|kube-system|cloudnative-pg": {
            "apiVersion": "helm.cattle.io/v1", "kind": "HelmChart",
            "metadata": {"name": "cloudnative-pg", "namespace": "kube-system"},
            "spec": {"targetNamespace": "cnpg-system"},
        },
        "postgresql.cnpg.io|Cluster|sugang|sugang-db": {
            "apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster",
            "metadata": {"name": "sugang-db", "namespace": "sugang"}, "spec": {"instances": 3},
        },
    }  # fmt: skip
    Path(stand_in["STAND_IN_STATE"]).write_text(json.dumps({"objects": unlabelled, "counters": {}}))
    answer = deploy(kit_without_secrets, stand_in, "--overlay", "multi-node")
    assert answer.returncode == 1
    assert "Cluster sugang-db in sugang" in " ".join(answer.stderr.split())
    assert not [c for c in calls(stand_in) if c["args"][2:3] == ["apply"]]
