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


def test_check_fails_flannels_udp_port_where_a_firewall_drops_it(lab: Lab, tmp_path: Path) -> None:
    inventory = write_inventory(lab, tmp_path / "cluster.yaml", servers=1, agents=1)
    server_ip = inventory["nodes"][0]["node_ip"]
    agent = lab.machines[1]
    assert agent.run("iptables -A INPUT -p udp --dport 8472 -j DROP").returncode == 0
    listeners_before = set(Path("/tmp").glob("sugang-udp.*"))

    out = sugang_cluster("check", cwd=tmp_path).stdout

    assert f"FAIL a1 UDP 8472: no UDP 8472 from {server_ip} (s1, VXLAN)" in out
    assert f"fix: allow 8472/udp from {server_ip} on {agent.address}" in out
    assert "FAIL s1 UDP 8472" not in out  # the agent's datagrams reach the server
    assert "FAIL s1 reachability" not in out and "FAIL a1 reachability" not in out
    # the listeners are gone, and so are their files
    assert set(Path("/tmp").glob("sugang-udp.*")) <= listeners_before
    assert "/tmp/sugang-udp." not in agent.run("ps -eo args").stdout  # the listener's argument


def test_check_fails_a_reject_all_iptables_rule_that_up_does_not_open(
    lab: Lab, tmp_path: Path
) -> None:
    write_inventory(lab, tmp_path / "cluster.yaml", servers=1, agents=1)
    oracle_like = [
        "-m state --state RELATED,ESTABLISHED -j ACCEPT",
        "-i lo -j ACCEPT",
        "-p tcp -m state --state NEW -m tcp --dport 22 -j ACCEPT",
        "-j REJECT --reject-with icmp-host-prohibited",
    ]
    agent = lab.machines[1]
    for rule in oracle_like:
        assert agent.run(f"iptables -A INPUT {rule}").returncode == 0

    answer = sugang_cluster("check", cwd=tmp_path)

    out = answer.stdout
    assert answer.returncode == 1
    assert "FAIL a1 firewall (iptables): rule 4 of INPUT" in out
    assert "turns away 10250/tcp, 8472/udp" in out
    assert "`sugang cluster up` does not change iptables rules outside ufw" in out
    assert "fix: sudo iptables -I INPUT 4 -p tcp -s" in out and "netfilter-persistent save" in out
    assert "FAIL s1 firewall" not in out


def test_check_includes_the_load_balancer_host(lab: Lab, tmp_path: Path) -> None:
    write_inventory(lab, tmp_path / "cluster.yaml", servers=1, agents=1, load_balancer="nginx")

    out = sugang_cluster("check", cwd=tmp_path).stdout

    assert "load-balancer" in out and "load balancer" in out  # its row in the table
    assert "FAIL load-balancer" not in out and "WARN load-balancer" not in out
    assert "FAIL a1 reachability" not in out  # the agent reaches the load balancer's 6443

    balancer = lab.machines[2]
    balancer.run(
        "setsid nohup socat TCP-LISTEN:6443,bind=0.0.0.0,fork,reuseaddr - "
        "</dev/null >/dev/null 2>&1 &"
        " for _ in $(seq 50); do ss -Hltn 'sport = :6443' | grep -q . && break; sleep 0.1; done"
    )

    answer = sugang_cluster("check", cwd=tmp_path)

    assert answer.returncode == 1
    assert "FAIL load-balancer port 6443: in use by socat" in answer.stdout
