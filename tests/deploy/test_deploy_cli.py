"""`sugang deploy`, run as a user runs it. --dry-run renders with the real kubectl. No Kubernetes
API server can run here, so the apply path runs against STAND-IN kubectl: a script first on
PATH that renders with the real kubectl, answers the cluster questions as a healthy K3s cluster
would, and records every call so the test can check what was asked and in which order."""

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

STAND_IN_KUBECTL = r'''#!/usr/bin/env python3
"""STAND-IN kubectl for tests: not a cluster. Renders with the real kubectl; answers the rest
as a healthy two-node K3s cluster would; records every call."""
import json, os, subprocess, sys

args = sys.argv[1:]
stdin = sys.stdin.read() if "-f" in args and "-" in args else None
log = os.environ["STAND_IN_LOG"]
with open(log, "a") as f:
    f.write(json.dumps({"args": args, "stdin": stdin}) + "\n")
if args[:1] == ["kustomize"]:
    os.execv(os.environ["REAL_KUBECTL"], [os.environ["REAL_KUBECTL"], *args])
if args[:2] == ["--context", "nowhere"]:
    sys.exit('error: context "nowhere" does not exist')
if args[:2] == ["--context", os.environ.get("STAND_IN_CONTEXT", "")]:
    args = args[2:]
calls = sum(1 for _ in open(log))

def out(value):
    print(json.dumps(value) if not isinstance(value, str) else value)

if args[0] == "apply":
    for line in stdin.split("\nkind: ")[1:]:
        print(line.split("\n")[0].lower() + " serverside-applied")
elif args[:3] == ["-n", "sugang", "get"] and args[3] == "job":
    out(os.environ.get("STAND_IN_OLD_JOB", ""))
elif args[:3] == ["-n", "sugang", "delete"]:
    print('job.batch "sugang-migrate" deleted')
elif args[:2] == ["get", "crd"]:
    out(f"customresourcedefinition.apiextensions.k8s.io/{args[2]}")
elif args[0] == "wait" or args[2] == "wait":
    print("condition met")
elif args[:4] == ["-n", "sugang", "get", "deployment"]:
    first = not any('"deployment"' in l for l in list(open(log))[:-1])
    ready = 1 if first else 3
    out({"metadata": {"generation": 2}, "spec": {"replicas": 3},
         "status": {"observedGeneration": 2, "replicas": 3,
                    "updatedReplicas": ready, "readyReplicas": ready}})
elif args[:2] == ["get", "nodes"]:
    out({"items": [
        {"status": {"addresses": [{"type": "InternalIP", "address": f"192.168.0.{i}"},
                                  {"type": "Hostname", "address": f"node{i}"}]}}
        for i in (11, 12)]})
elif args[:5] == ["-n", "kube-system", "get", "service", "traefik"]:
    web = int(os.environ.get("STAND_IN_WEB_NODE_PORT", "30080"))
    out({"spec": {"type": "LoadBalancer", "ports": [
        {"name": "web", "port": 80, "nodePort": web},
        {"name": "websecure", "port": 443, "nodePort": 30443}]}})
else:
    sys.exit(f"stand-in kubectl: unexpected call {args}")
'''


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
    script.write_text(STAND_IN_KUBECTL)
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "REAL_KUBECTL": real,
        "STAND_IN_LOG": str(tmp_path / "kubectl-calls.jsonl"),
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
    files = [
        kit_without_secrets / "base" / "secrets.env",
        kit_without_secrets / "components" / "monitoring" / "secrets.env",
    ]
    values = {}
    for secrets_env in files:
        assert stat.S_IMODE(secrets_env.stat().st_mode) == 0o600
        values.update(dict(line.split("=", 1) for line in secrets_env.read_text().split()))
        assert str(secrets_env) in answer.stderr
    assert set(values) == {
        "SUGANG_SECRET_KEY",
        "POSTGRES_PASSWORD",
        "REDIS_PASSWORD",
        "admin-password",
    }
    assert all(len(v) >= 48 for v in values.values())
    assert not any(v in answer.stderr for v in values.values())

    again = sugang(
        "deploy", "--overlay", "multi-node", "--dry-run", "--kit", str(kit_without_secrets)
    )
    assert again.returncode == 0 and "wrote random secrets" not in again.stderr
    assert {
        k: v
        for secrets_env in files
        for k, v in (line.split("=", 1) for line in secrets_env.read_text().split())
    } == values


def test_an_older_secrets_file_gets_the_new_keys_and_keeps_its_values(
    kit_without_secrets: Path,
) -> None:
    """A kit deployed before Redis had a password: its file keeps the database's password
    (PostgreSQL keeps the one it started with) and gains the keys it lacks."""
    secrets_env = kit_without_secrets / "base" / "secrets.env"
    secrets_env.write_text(
        "SUGANG_SECRET_KEY=kept-secret-kept-secret-kept-secret\nPOSTGRES_PASSWORD=kept\n"
    )
    secrets_env.chmod(0o600)
    answer = sugang(
        "deploy", "--overlay", "single-node", "--dry-run", "--kit", str(kit_without_secrets)
    )
    assert answer.returncode == 0, answer.stderr
    values = dict(line.split("=", 1) for line in secrets_env.read_text().split())
    assert values["SUGANG_SECRET_KEY"] == "kept-secret-kept-secret-kept-secret"
    assert values["POSTGRES_PASSWORD"] == "kept"
    assert len(values["REDIS_PASSWORD"]) >= 48
    rendered = [d for d in yaml.safe_load_all(answer.stdout) if d]
    secret = next(
        d for d in rendered if d["kind"] == "Secret" and d["metadata"]["namespace"] == "sugang"
    )
    assert set(secret["data"]) == set(values)


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


def test_deploy_applies_built_in_resources_then_custom_ones_then_waits_for_the_rollout(
    kit_without_secrets: Path, stand_in: dict[str, str]
) -> None:
    answer = sugang(
        "deploy", "--overlay", "multi-node", "--kit", str(kit_without_secrets), "--context", "lab",
        env=stand_in,
    )  # fmt: skip
    assert answer.returncode == 0, answer.stdout + answer.stderr
    made = calls(stand_in)
    asked = [c["args"] for c in made]
    assert asked[0][0] == "kustomize"
    cluster_calls = asked[1:]
    assert all(a[:2] == ["--context", "lab"] for a in cluster_calls)
    steps = [" ".join(a[2:6]) for a in cluster_calls]
    applies = [i for i, s in enumerate(steps) if s.startswith("apply --server-side")]
    crd_waits = [i for i, s in enumerate(steps) if s.startswith("wait --for=condition=established")]
    job_wait = steps.index("-n sugang wait --for=condition=complete")
    rollout = [i for i, s in enumerate(steps) if s.startswith("-n sugang get deployment")]
    assert len(applies) == 2 and applies[0] < min(crd_waits) and max(crd_waits) < applies[1]
    assert applies[1] < job_wait < rollout[0] and len(rollout) == 2  # not ready, then ready

    first = {d["kind"] for d in yaml.safe_load_all(made[applies[0] + 1]["stdin"])}
    later = {d["kind"] for d in yaml.safe_load_all(made[applies[1] + 1]["stdin"])}
    assert {
        "Namespace", "Deployment", "Job", "HelmChart", "HelmChartConfig",
        "HorizontalPodAutoscaler", "NetworkPolicy", "Ingress", "Secret",
    } <= first  # fmt: skip
    assert later == {"PodMonitor", "PrometheusRule", "Middleware"}
    waited = {
        a[-2].removeprefix("crd/") for a in cluster_calls if "--for=condition=established" in a
    }
    assert waited == {
        "podmonitors.monitoring.coreos.com",
        "prometheusrules.monitoring.coreos.com",
        "middlewares.traefik.io",  # K3s's traefik-crd chart has it before the kit is applied
    }
    apply_args = cluster_calls[applies[0]]
    assert "--field-manager=sugang-deploy" in apply_args

    assert "https://192.168.0.11/" in answer.stdout
    assert "http://192.168.0.11:30080/" in answer.stdout  # NodePort 30080: Traefik
    assert "http://192.168.0.12:30080/" in answer.stdout
    assert "port-forward svc/kube-prometheus-stack-grafana" in answer.stdout
    assert "kubectl -n sugang get hpa -w" in answer.stdout


def test_a_finished_migration_job_is_replaced(
    kit_without_secrets: Path, stand_in: dict[str, str]
) -> None:
    stand_in["STAND_IN_OLD_JOB"] = json.dumps({"kind": "Job", "status": {"succeeded": 1}})
    answer = sugang(
        "deploy", "--overlay", "single-node", "--kit", str(kit_without_secrets), "--context", "lab",
        env={**stand_in, "STAND_IN_WEB_NODE_PORT": "31234"},  # single-node: K3s's own pick
    )  # fmt: skip
    assert answer.returncode == 0, answer.stderr
    asked = [" ".join(c["args"][2:]) for c in calls(stand_in)[1:]]
    deleted = asked.index("-n sugang delete job sugang-migrate --wait=true")
    assert deleted < next(i for i, a in enumerate(asked) if a.startswith("apply"))
    assert "(Traefik ingress)" in answer.stdout and ":31234" not in answer.stdout


def test_a_migration_job_still_running_is_left_alone(
    kit_without_secrets: Path, stand_in: dict[str, str]
) -> None:
    """Deleting it would stop a migration halfway: the deploy says so and changes nothing."""
    stand_in["STAND_IN_OLD_JOB"] = json.dumps({"kind": "Job", "status": {"active": 1}})
    answer = sugang(
        "deploy", "--overlay", "single-node", "--kit", str(kit_without_secrets), "--context", "lab",
        env=stand_in,
    )  # fmt: skip
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
