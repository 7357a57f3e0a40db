"""`sugang cluster remove|upgrade|backup|restore` and `down`'s kept snapshots, over real SSH to
stand-in machines. The STAND-IN k3s (tests/cluster/stand_in: not K3s) records every kubectl
change with its time on the first server (events.jsonl) and every start with the version that
started; the assertions are on those records and on what is left on each machine."""

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.lab import STAND_IN, Lab, Machine, sugang_cluster, write_inventory

pytestmark = pytest.mark.slow  # stand-in machines: namespaces with sshd

NEW = "v1.35.0+k3s1"


def machine(lab: Lab, name: str) -> Machine:
    return next(m for m in lab.machines if m.name == name)


def events(first: Machine) -> list[dict[str, Any]]:
    path = first.path("/var/lib/rancher/stand-in/events.jsonl")
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def starts(host: Machine) -> list[dict[str, Any]]:
    """Each time K3s started on the machine (as server or agent), with its version."""
    path = host.path("/var/lib/rancher/stand-in/calls.jsonl")
    calls = [json.loads(line) for line in path.read_text().splitlines()]
    return [c for c in calls if c["argv"][:1] in (["server"], ["agent"])]


def nodes(first: Machine) -> dict[str, dict[str, Any]]:
    answer = first.run("k3s kubectl get nodes -o json")
    assert answer.returncode == 0, answer.stderr
    return {n["metadata"]["name"]: n for n in json.loads(answer.stdout)["items"]}


def installed(host: Machine) -> bool:
    return host.path("/usr/local/bin/k3s").exists()


def test_remove_an_agent_drains_deletes_and_uninstalls_and_force_takes_bare_pods(
    lab: Lab, tmp_path: Path
) -> None:
    write_inventory(lab, tmp_path / "cluster.yaml", servers=1, agents=2)
    assert sugang_cluster("up", cwd=tmp_path).returncode == 0
    s1, a1, a2 = (machine(lab, n) for n in ("s1", "a1", "a2"))

    removed = sugang_cluster("remove", "a1", "--yes", cwd=tmp_path)

    assert removed.returncode == 0, removed.stdout + removed.stderr
    assert [(e["what"], e["node"]) for e in events(s1)] == [("drain", "a1"), ("delete", "a1")]
    assert "--ignore-daemonsets" in events(s1)[0]["flags"]
    assert "--force" not in events(s1)[0]["flags"]
    assert "a1" not in nodes(s1) and "a2" in nodes(s1)
    assert not installed(a1) and installed(a2)
    assert "take it out of cluster.yaml" in removed.stdout

    # a pod no controller manages: kubectl refuses to drain without --force, and nothing is
    # deleted or uninstalled
    s1.path("/var/lib/rancher/stand-in/bare-pods").write_text("a2 default/debug-shell\n")
    refused = sugang_cluster("remove", "a2", "--yes", cwd=tmp_path)

    assert refused.returncode == 1
    assert "cannot delete Pods that declare no controller" in refused.stderr
    assert "a2" in nodes(s1) and installed(a2)

    forced = sugang_cluster("remove", "a2", "--yes", "--force", cwd=tmp_path)

    assert forced.returncode == 0, forced.stdout + forced.stderr
    assert "--force" in events(s1)[-2]["flags"] and events(s1)[-1]["what"] == "delete"
    assert "a2" not in nodes(s1) and not installed(a2)


def test_remove_a_server_keeps_quorum_and_is_refused_when_it_would_break_it(
    lab: Lab, tmp_path: Path
) -> None:
    write_inventory(lab, tmp_path / "cluster.yaml", servers=3, ha=True)
    assert sugang_cluster("up", cwd=tmp_path).returncode == 0
    s1, s2, s3 = (machine(lab, n) for n in ("s1", "s2", "s3"))
    # s2 dies: the machine is off, and the cluster sees it NotReady
    lab.stop(s2)
    s1.path("/var/lib/rancher/stand-in/not-ready").write_text("s2\n")

    refused = sugang_cluster("remove", "s3", "--yes", cwd=tmp_path)

    assert refused.returncode == 1
    assert "refused, nothing was changed" in refused.stderr
    assert "etcd needs 2 for a majority" in refused.stderr
    assert events(s1) == [] and installed(s3)

    first = sugang_cluster("remove", "s1", "--yes", cwd=tmp_path)
    assert first.returncode == 1 and "is the first server" in first.stderr

    dead = sugang_cluster("remove", "s2", "--yes", cwd=tmp_path)

    assert dead.returncode == 0, dead.stdout + dead.stderr
    assert [(e["what"], e["node"]) for e in events(s1)] == [
        ("drain", "s2"),
        ("delete", "s2"),
        ("etcd member removed", "s2"),
    ]
    assert "--skip-wait-for-delete-timeout=30" in events(s1)[0]["flags"]  # it never answers
    assert "K3s is still installed there" in dead.stdout
    assert set(nodes(s1)) == {"s1", "s3"}

    # two members, both healthy: removing one leaves one of one, a majority
    healthy = sugang_cluster("remove", "s3", "--yes", cwd=tmp_path)
    assert healthy.returncode == 0, healthy.stdout + healthy.stderr
    assert [(e["what"], e["node"]) for e in events(s1)[-3:]] == [
        ("drain", "s3"),
        ("delete", "s3"),
        ("etcd member removed", "s3"),
    ]
    assert not installed(s3) and set(nodes(s1)) == {"s1"}


def newer_stand_in(directory: Path, version: str) -> Path:
    """A copy of the stand-in k3s that reports another version: the "new release"."""
    source = (STAND_IN / "k3s").read_text()
    binary = directory / f"k3s-{version}"
    binary.write_text(source.replace('VERSION = "v1.34.1+k3s1"', f'VERSION = "{version}"', 1))
    binary.chmod(0o755)
    return binary


def test_upgrade_goes_node_by_node_servers_first_and_a_rerun_finishes_a_failed_one(
    lab: Lab, tmp_path: Path
) -> None:
    path = tmp_path / "cluster.yaml"
    inventory = write_inventory(lab, path, servers=3, agents=1, ha=True)
    assert sugang_cluster("up", cwd=tmp_path).returncode == 0
    s1 = machine(lab, "s1")
    order = ["s1", "s2", "s3", "a1"]

    skipping = sugang_cluster("upgrade", "--version", "v1.36.0+k3s1", cwd=tmp_path)
    assert skipping.returncode == 1 and "one minor version at a time" in skipping.stderr
    wrong = sugang_cluster("upgrade", "--version", NEW, cwd=tmp_path)
    assert wrong.returncode == 1 and f"not {NEW}" in wrong.stderr  # still the old binary
    assert events(s1) == []

    inventory["cluster"]["airgap"]["k3s_binary"] = str(newer_stand_in(tmp_path, NEW))
    path.write_text(yaml.safe_dump(inventory, sort_keys=False))
    broken = machine(lab, "a1")
    marker = broken.path("/var/lib/rancher/stand-in/fail-next-install")
    marker.write_text("no space left on device")

    failed = sugang_cluster("upgrade", "--version", NEW, cwd=tmp_path)

    assert failed.returncode == 1 and "a1" in failed.stderr
    listed = nodes(s1)
    assert listed["a1"]["spec"]["unschedulable"] is True  # left cordoned, and marked so
    assert listed["a1"]["metadata"]["annotations"]["sugang.dev/cordoned-for"] == "upgrade"
    assert all(listed[n]["status"]["nodeInfo"]["kubeletVersion"] == NEW for n in order[:3])

    marker.unlink()
    resumed = sugang_cluster("upgrade", "--version", NEW, cwd=tmp_path)

    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "1 node(s) upgraded" in resumed.stdout
    listed = nodes(s1)
    for name in order:
        assert listed[name]["status"]["nodeInfo"]["kubeletVersion"] == NEW
        assert not listed[name].get("spec", {}).get("unschedulable")
        assert "sugang.dev/cordoned-for" not in listed[name]["metadata"].get("annotations", {})
    # per node: cordoned, drained, started at the new version, uncordoned, then the next
    timeline: list[tuple[float, str, str]] = [
        (e["time"], e["what"], e["node"])
        for e in events(s1)
        if e["what"] in {"cordon", "drain", "uncordon"}
    ]
    for name in order:
        new_start = next(c for c in starts(machine(lab, name)) if c["version"] == NEW)
        timeline.append((new_start["time"], "start", name))
    timeline.sort()
    # a1's failed attempt stays in the record: cordon, drain, no start; the rerun drains again
    # (it finds a1 cordoned by its mark, so it does not cordon twice)
    expected = [
        (what, name) for name in order[:3] for what in ("cordon", "drain", "start", "uncordon")
    ]
    expected += [("cordon", "a1"), ("drain", "a1"), ("drain", "a1"), ("start", "a1")]
    expected += [("uncordon", "a1")]
    assert [(what, name) for _, what, name in timeline] == expected

    again = sugang_cluster("upgrade", "--version", NEW, cwd=tmp_path)
    assert again.returncode == 0 and f"every node already runs {NEW}" in again.stdout


def test_backup_copies_a_snapshot_back_restore_puts_it_back_and_down_keeps_snapshots(
    lab: Lab, tmp_path: Path
) -> None:
    write_inventory(
        lab, tmp_path / "cluster.yaml", servers=3, agents=1, ha=True,
        etcd_snapshot_schedule_cron="0 */6 * * *", etcd_snapshot_retention=10,
    )  # fmt: skip
    assert sugang_cluster("up", cwd=tmp_path).returncode == 0
    s1, s2, s3 = (machine(lab, n) for n in ("s1", "s2", "s3"))
    config = yaml.safe_load(s2.path("/etc/rancher/k3s/config.yaml").read_text())
    assert config["etcd-snapshot-schedule-cron"] == "0 */6 * * *"
    assert config["etcd-snapshot-retention"] == 10

    saved = sugang_cluster("backup", "--output", "backups", cwd=tmp_path)

    assert saved.returncode == 0, saved.stdout + saved.stderr
    [snapshot] = (tmp_path / "backups").glob("sugang-s1-*[0-9]")
    assert oct(snapshot.stat().st_mode & 0o777) == "0o600"
    assert (
        snapshot.read_bytes()
        == next(s1.path("/var/lib/rancher/k3s/server/db/snapshots").iterdir()).read_bytes()
    )
    token = s1.path("/var/lib/rancher/k3s/server/token").read_text()
    assert Path(f"{snapshot}.token").read_text() == token
    assert token.strip() not in saved.stdout + saved.stderr

    # a change after the snapshot, which the restore undoes
    assert s1.run("k3s kubectl delete node a1").returncode == 0
    assert "a1" not in nodes(s1)

    restored = sugang_cluster("restore", str(snapshot), "--yes", cwd=tmp_path)

    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert set(nodes(s1)) == {"s1", "s2", "s3", "a1"}
    reset = [c for c in starts(s1) if "--cluster-reset" in c["argv"]]
    assert (
        reset
        and f"--cluster-reset-restore-path=/var/lib/rancher/k3s/server/db/snapshots/{snapshot.name}"
        in reset[0]["argv"]
    )
    stopped = [
        float(line.split()[0])
        for m in (s1, s2, s3)
        for line in m.path("/var/lib/rancher/stand-in/systemctl.log").read_text().splitlines()
        if line.endswith("stop k3s")
    ]
    assert len(stopped) == 3 and max(stopped) < reset[0]["time"]  # every server stopped first
    for peer in (s2, s3):
        assert list(peer.path("/var/lib/rancher/k3s/server").glob("db-before-restore-*"))
    assert all(starts(m)[-1]["argv"] == ["server"] for m in (s1, s2, s3))  # running again

    down = sugang_cluster("down", "--yes", cwd=tmp_path)

    assert down.returncode == 0, down.stdout + down.stderr
    kept = s1.path("/var/lib/rancher/sugang-snapshots")
    assert (kept / snapshot.name).read_bytes() == snapshot.read_bytes()
    assert not installed(s1)
