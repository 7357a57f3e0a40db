"""`sugang cluster check` over real SSH to stand-in machines. They share one kernel and one
hostname, so some findings are about the test bed itself; the assertions pick those the test
arranges."""

from pathlib import Path

import pytest
import yaml

from tests.support.lab import Lab, sugang_cluster, write_inventory

pytestmark = pytest.mark.slow  # stand-in machines: namespaces with sshd


def test_check_reports_each_node_with_fixes(lab: Lab, tmp_path: Path) -> None:
    path = tmp_path / "cluster.yaml"
    inventory = write_inventory(lab, path, servers=1, agents=2)
    inventory["nodes"][2]["node_ip"] = inventory["nodes"][2]["address"].rsplit(".", 1)[0] + ".250"
    path.write_text(yaml.safe_dump(inventory))

    answer = sugang_cluster("check", cwd=tmp_path)

    out = answer.stdout
    assert answer.returncode == 1, out + answer.stderr
    for name in ("s1", "a1", "a2"):
        assert name in out
    # a2's node_ip is not its address: its own check and the others' probes say so
    assert "FAIL a2 node-ip" in out and "is not an address of this host" in out
    assert "fix: set node_ip in cluster.yaml" in out
    assert "FAIL s1 reachability: cannot reach" in out and ".250:10250/tcp" in out
    # the stand-in machines share one hostname: a warning with a fix, not a failure
    assert "WARN a1 unique hostname" in out and "hostnamectl" in out
    assert "FAIL s1 unique MAC" not in out  # each machine has its own veth
    assert "check(s) failed" in out


def test_check_passes_reachability_and_ports_on_a_sound_inventory(lab: Lab, tmp_path: Path) -> None:
    write_inventory(lab, tmp_path / "cluster.yaml", servers=1, agents=1)
    out = sugang_cluster("check", cwd=tmp_path).stdout
    assert "FAIL s1 reachability" not in out and "FAIL a1 reachability" not in out
    assert "FAIL s1 ports" not in out and "FAIL s1 node-ip" not in out
