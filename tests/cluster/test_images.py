"""`sugang cluster images import` over real SSH to stand-in machines (network + mount
namespaces with OpenSSH; the STAND-IN k3s of tests/cluster/stand_in plays `k3s ctr`, not K3s).
The archive is a STAND-IN too: a docker-save layout (manifest.json, a config) without layers."""

import gzip
import io
import json
import tarfile
from pathlib import Path

import pytest

from tests.support.lab import Lab, Machine, sugang_cluster, write_inventory

pytestmark = pytest.mark.slow  # stand-in machines: namespaces with sshd

IMAGES_DIR = "/var/lib/rancher/k3s/agent/images"


def image_archive(path: Path, tag: str = "sugang:0.1.0") -> Path:
    """A docker-save layout naming one image, with no layers (a test double of an image)."""
    with tarfile.open(path, "w") as archive:
        for name, content in {
            "manifest.json": json.dumps(
                [{"Config": "c0ffee.json", "RepoTags": [tag], "Layers": []}]
            ),
            "c0ffee.json": json.dumps({"architecture": "amd64", "os": "linux"}),
        }.items():
            data = content.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def imported(machine: Machine) -> dict[str, dict[str, dict[str, str]]]:
    path = machine.path("/var/lib/rancher/stand-in/images.json")
    return json.loads(path.read_text()) if path.exists() else {}


def ctr_calls(machine: Machine) -> list[list[str]]:
    path = machine.path("/var/lib/rancher/stand-in/calls.jsonl")
    if not path.exists():
        return []
    calls = [json.loads(line)["argv"] for line in path.read_text().splitlines()]
    return [c for c in calls if c[:1] == ["ctr"]]


def test_the_archive_lands_on_every_node_and_is_imported_where_k3s_runs(
    lab: Lab, tmp_path: Path
) -> None:
    write_inventory(lab, tmp_path / "cluster.yaml", servers=1, agents=1)
    archive = image_archive(tmp_path / "sugang-0.1.0.tar")
    machines = [m for m in lab.machines if m.name in {"s1", "a1"}]

    before = sugang_cluster("images", "import", str(archive), cwd=tmp_path)

    assert before.returncode == 0, before.stdout + before.stderr
    assert "docker.io/library/sugang:0.1.0" in before.stdout
    for machine in machines:  # no K3s yet: the file waits for it, nothing is imported
        landed = machine.path(f"{IMAGES_DIR}/sugang-0.1.0.tar")
        assert landed.read_bytes() == archive.read_bytes()
        assert oct(landed.stat().st_mode & 0o777) == "0o644"
        assert ctr_calls(machine) == []
    assert before.stdout.count("K3s not installed yet") == 2

    up = sugang_cluster("up", cwd=tmp_path)
    assert up.returncode == 0, up.stdout + up.stderr
    after = sugang_cluster("images", "import", str(archive), cwd=tmp_path)

    assert after.returncode == 0, after.stdout + after.stderr
    assert after.stdout.count("already there") == 2  # the same file is not sent again
    for machine in machines:
        images = imported(machine)
        assert set(images) == {"docker.io/library/sugang:0.1.0"}
        assert images["docker.io/library/sugang:0.1.0"]["labels"] == {
            "io.cri-containerd.pinned": "pinned",
            "io.cattle.k3s.pinned": "pinned",
        }
        assert ctr_calls(machine)[0] == [
            "ctr", "-n", "k8s.io", "images", "import", f"{IMAGES_DIR}/sugang-0.1.0.tar"
        ]  # fmt: skip


def test_one_node_can_be_named_and_a_wrong_file_is_refused(lab: Lab, tmp_path: Path) -> None:
    write_inventory(lab, tmp_path / "cluster.yaml", servers=1, agents=1)
    archive = image_archive(tmp_path / "sugang.tar")
    gz = tmp_path / "sugang-0.1.0.tar.gz"
    gz.write_bytes(gzip.compress(archive.read_bytes()))  # gzip: K3s reads it too
    only = sugang_cluster("images", "import", str(gz), "--node", "a1", cwd=tmp_path)
    assert only.returncode == 0, only.stdout + only.stderr
    server, agent = (next(m for m in lab.machines if m.name == n) for n in ("s1", "a1"))
    assert agent.path(f"{IMAGES_DIR}/sugang-0.1.0.tar.gz").exists()
    assert not server.path(f"{IMAGES_DIR}/sugang-0.1.0.tar.gz").exists()

    not_an_image = tmp_path / "notes.tar"
    with tarfile.open(not_an_image, "w") as plain:
        plain.add(tmp_path / "cluster.yaml", arcname="cluster.yaml")
    refused = sugang_cluster("images", "import", str(not_an_image), cwd=tmp_path)
    assert refused.returncode == 2 and "not an image archive" in refused.stderr
    wrong_kind = sugang_cluster("images", "import", str(tmp_path / "cluster.yaml"), cwd=tmp_path)
    assert wrong_kind.returncode == 2 and "K3s imports only" in wrong_kind.stderr
    unknown = sugang_cluster("images", "import", str(gz), "--node", "z9", cwd=tmp_path)
    assert unknown.returncode == 2 and "no node z9" in unknown.stderr
