"""`sugang cluster up` over real SSH to stand-in machines (network + mount namespaces with
OpenSSH), installing the STAND-IN k3s (tests/cluster/stand_in: not K3s) through the air-gapped
path. The assertions are on what reached each machine."""

import hashlib
import json
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.support.lab import (
    SUGANG,
    Lab,
    Machine,
    ssh_account,
    sugang_cluster,
    write_inventory,
)

pytestmark = pytest.mark.slow  # stand-in machines: namespaces with sshd


def install_log(machine: Machine) -> str:
    path = machine.path("/var/lib/rancher/stand-in/install.log")
    return path.read_text() if path.exists() else ""


def machine(lab: Lab, name: str) -> Machine:
    return next(m for m in lab.machines if m.name == name)


def test_a_server_and_two_agents_come_up_and_a_second_run_changes_nothing(
    lab: Lab, tmp_path: Path
) -> None:
    write_inventory(lab, tmp_path / "cluster.yaml", servers=1, agents=2)

    first = sugang_cluster("up", cwd=tmp_path)

    assert first.returncode == 0, first.stdout + first.stderr
    server, a1, a2 = (machine(lab, n) for n in ("s1", "a1", "a2"))
    token = server.path("/var/lib/rancher/k3s/server/node-token").read_text().strip()
    for agent in (a1, a2):
        config = yaml.safe_load(agent.path("/etc/rancher/k3s/config.yaml").read_text())
        assert config["server"] == f"https://{server.address}:6443"
        assert config["token"] == token
        assert config["node-ip"] == agent.address
        assert oct(agent.path("/etc/rancher/k3s/config.yaml").stat().st_mode & 0o777) == "0o600"
        assert "INSTALL_K3S_EXEC=agent" in install_log(agent)
    assert "INSTALL_K3S_EXEC=server" in install_log(server)
    assert "INSTALL_K3S_SKIP_DOWNLOAD=true" in install_log(server)
    assert "token" not in yaml.safe_load(server.path("/etc/rancher/k3s/config.yaml").read_text())
    assert token not in first.stdout + first.stderr
    for name in ("s1", "a1", "a2"):
        assert name in first.stdout and "Ready" in first.stdout
    kubeconfig = yaml.safe_load((tmp_path / "kubeconfig").read_text())
    assert kubeconfig["current-context"] == "lab"
    assert kubeconfig["clusters"][0]["cluster"]["server"] == f"https://{server.address}:6443"
    assert oct((tmp_path / "kubeconfig").stat().st_mode & 0o777) == "0o600"

    second = sugang_cluster("up", cwd=tmp_path)

    assert second.returncode == 0, second.stdout + second.stderr
    assert "nothing changed" in second.stdout
    assert install_log(server).count("args=") == 1
    assert install_log(a1).count("args=") == 1


def test_three_servers_behind_a_load_balancer(lab: Lab, tmp_path: Path, balancer: str) -> None:
    write_inventory(
        lab, tmp_path / "cluster.yaml", servers=3, agents=1, ha=True, load_balancer=balancer,
        tls_san=["k3s.lab.example"],
    )  # fmt: skip

    answer = sugang_cluster("up", cwd=tmp_path)

    assert answer.returncode == 0, answer.stdout + answer.stderr
    s1, s2, s3, a1, lb = (machine(lab, n) for n in ("s1", "s2", "s3", "a1", "lb"))
    token = s1.path("/var/lib/rancher/k3s/server/node-token").read_text().strip()
    first = yaml.safe_load(s1.path("/etc/rancher/k3s/config.yaml").read_text())
    assert first["cluster-init"] is True
    assert first["tls-san"] == [lb.address, "k3s.lab.example"]
    for joiner in (s2, s3):
        config = yaml.safe_load(joiner.path("/etc/rancher/k3s/config.yaml").read_text())
        assert config["server"] == f"https://{s1.address}:6443" and config["token"] == token
        assert joiner.path("/var/lib/rancher/k3s/server/node-token").read_text().strip() == token
    agent = yaml.safe_load(a1.path("/etc/rancher/k3s/config.yaml").read_text())
    assert agent["server"] == f"https://{lb.address}:6443"
    # the agent's join went through the real load balancer to a server, with the token
    assert a1.path("/var/lib/rancher/k3s/agent/joined").exists()
    if balancer == "nginx":
        stream = lb.path("/etc/nginx/sugang-k3s-stream.conf").read_text()
        assert "least_conn;" in stream
        assert (
            "include /etc/nginx/sugang-k3s-stream.conf;"
            in lb.path("/etc/nginx/nginx.conf").read_text()
        )
    else:
        assert "balance leastconn" in lb.path("/etc/haproxy/haproxy.cfg").read_text()
    for server in (s1, s2, s3):
        assert f"{server.address}:6443" in lb.run(f"cat /etc/{balancer}/*").stdout
    kubeconfig = yaml.safe_load((tmp_path / "kubeconfig").read_text())
    assert kubeconfig["clusters"][0]["cluster"]["server"] == f"https://{lb.address}:6443"
    for name in ("s1", "s2", "s3", "a1"):
        assert name in answer.stdout
    assert answer.stdout.count("control-plane") == 3

    again = sugang_cluster("up", cwd=tmp_path)
    assert again.returncode == 0 and "nothing changed" in again.stdout, again.stdout


def test_the_token_never_shows_in_output_logs_or_process_lists(lab: Lab, tmp_path: Path) -> None:
    write_inventory(lab, tmp_path / "cluster.yaml", servers=1, agents=1)
    answer = sugang_cluster("up", cwd=tmp_path)
    assert answer.returncode == 0, answer.stderr
    plan = sugang_cluster("plan", cwd=tmp_path)
    token = machine(lab, "s1").path("/var/lib/rancher/k3s/server/node-token").read_text().strip()
    assert token not in answer.stdout + answer.stderr + plan.stdout + plan.stderr
    for host in lab.machines:
        snapshot = host.path("/var/lib/rancher/stand-in/ps.log").read_text()
        assert "INSTALL_K3S_EXEC" in snapshot  # the install's own command line was seen
        assert token not in snapshot
        assert token not in install_log(host)  # not in the installer's environment either
        calls = host.path("/var/lib/rancher/stand-in/calls.jsonl").read_text().splitlines()
        assert not any(json.loads(c)["token_in_argv"] for c in calls)


def test_a_failed_run_names_the_host_and_a_rerun_continues(lab: Lab, tmp_path: Path) -> None:
    write_inventory(lab, tmp_path / "cluster.yaml", servers=1, agents=2)
    broken = machine(lab, "a2")
    marker = broken.path("/var/lib/rancher/stand-in/fail-next-install")
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text("disk full")

    failed = sugang_cluster("up", cwd=tmp_path)

    assert failed.returncode == 1
    assert "a2" in failed.stderr and "install K3s" in failed.stderr
    assert "simulated failure: disk full" in failed.stderr
    assert install_log(machine(lab, "a1")).count("args=") == 1

    # the config stays where K3s's unit reads it (a restart meanwhile must not come up as a
    # standalone server); a mark tells the next run to install again
    assert broken.path("/etc/rancher/k3s/config.yaml").exists()
    assert broken.path("/etc/rancher/k3s/sugang-install-failed").exists()

    marker.unlink()
    resumed = sugang_cluster("up", cwd=tmp_path)

    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert install_log(machine(lab, "s1")).count("args=") == 1
    assert install_log(machine(lab, "a1")).count("args=") == 1
    assert install_log(broken).count("args=") == 2
    assert "1 host(s) changed" in resumed.stdout
    assert not broken.path("/etc/rancher/k3s/sugang-install-failed").exists()


def test_a_node_added_to_the_inventory_joins_on_the_next_run(lab: Lab, tmp_path: Path) -> None:
    path = tmp_path / "cluster.yaml"
    inventory = write_inventory(lab, path, servers=1, agents=1)
    assert sugang_cluster("up", cwd=tmp_path).returncode == 0
    new = lab.machine("a2")
    inventory["nodes"].append(
        {"name": "a2", "address": new.address, "role": "agent", "node_ip": new.address}
    )
    path.write_text(yaml.safe_dump(inventory))

    plan = sugang_cluster("plan", cwd=tmp_path)
    assert "a2: install K3s — K3s is not installed" in plan.stdout
    assert "s1: install K3s — up to date" in plan.stdout
    assert "1 step(s) would change something" in plan.stdout

    answer = sugang_cluster("up", cwd=tmp_path)

    assert answer.returncode == 0, answer.stdout + answer.stderr
    assert install_log(machine(lab, "s1")).count("args=") == 1
    assert install_log(new).count("args=") == 1
    status = sugang_cluster("status", cwd=tmp_path)
    assert status.returncode == 0 and "a2" in status.stdout


def test_down_removes_agents_first_then_servers(lab: Lab, tmp_path: Path) -> None:
    write_inventory(lab, tmp_path / "cluster.yaml", servers=1, agents=2)
    assert sugang_cluster("up", cwd=tmp_path).returncode == 0

    refused = subprocess.run(
        [str(SUGANG), "cluster", "down"], cwd=tmp_path, input="n\n", capture_output=True,
        text=True, check=False,
    )  # fmt: skip
    assert refused.returncode == 1
    assert machine(lab, "s1").path("/usr/local/bin/k3s").exists()

    answer = sugang_cluster("down", "--yes", cwd=tmp_path)

    assert answer.returncode == 0, answer.stdout + answer.stderr
    lines = [line for line in answer.stdout.splitlines() if "uninstall" in line]
    assert [line.split()[0] for line in lines][-1] == "s1"
    assert "k3s-agent-uninstall.sh" in lines[0]
    for host in lab.machines:
        assert not host.path("/usr/local/bin/k3s").exists()
        assert not host.path("/etc/rancher/k3s/config.yaml").exists()


def test_a_non_root_user_works_through_sudo(lab: Lab, tmp_path: Path) -> None:
    user = "sugang-op"
    ssh_account(lab, user)
    sudoers = Path("/etc/sudoers.d/sugang-cluster-test")
    path = tmp_path / "cluster.yaml"
    inventory = write_inventory(lab, path, servers=1, agents=1)
    inventory["ssh"]["user"] = user
    path.write_text(yaml.safe_dump(inventory))

    refused = sugang_cluster("up", cwd=tmp_path)  # no sudo rights yet
    assert refused.returncode == 1
    assert "sudo: a password is required" in refused.stderr
    assert refused.stderr.startswith(("s1:", "a1:"))  # the host is named

    sudoers.write_text(f"{user} ALL=(root) NOPASSWD: ALL\n")
    sudoers.chmod(0o440)
    try:
        answer = sugang_cluster("up", cwd=tmp_path)
    finally:
        sudoers.unlink()

    assert answer.returncode == 0, answer.stdout + answer.stderr
    for name in ("s1", "a1"):
        config = machine(lab, name).path("/etc/rancher/k3s/config.yaml")
        assert config.stat().st_uid == 0 and oct(config.stat().st_mode & 0o777) == "0o600"
        assert "INSTALL_K3S_SKIP_DOWNLOAD=true" in install_log(machine(lab, name))
    assert machine(lab, "s1").path("/usr/local/bin/k3s").stat().st_uid == 0


def starts(machine: Machine, role: str) -> list[str | None]:
    """The config (its sha256) K3s read each time it started as `role`, by the stand-in's
    record."""
    path = machine.path("/var/lib/rancher/stand-in/calls.jsonl")
    calls = [json.loads(line) for line in path.read_text().splitlines()]
    return [c.get("config_sha256") for c in calls if c["argv"][:1] == [role]]


def test_a_changed_config_restarts_k3s_where_it_changed_and_only_there(
    lab: Lab, tmp_path: Path
) -> None:
    """The stand-in install.sh, like the real one, does not restart K3s for a new config
    alone: without INSTALL_K3S_FORCE_RESTART the new tls-san would be written and never read."""
    path = tmp_path / "cluster.yaml"
    inventory = write_inventory(lab, path, servers=1, agents=1)
    assert sugang_cluster("up", cwd=tmp_path).returncode == 0
    server, agent = machine(lab, "s1"), machine(lab, "a1")
    assert len(starts(server, "server")) == 1 and len(starts(agent, "agent")) == 1

    inventory["cluster"]["tls_san"] = ["k3s.lab.example"]
    path.write_text(yaml.safe_dump(inventory, sort_keys=False))
    changed = sugang_cluster("up", cwd=tmp_path)

    assert changed.returncode == 0, changed.stdout + changed.stderr
    config = server.path("/etc/rancher/k3s/config.yaml").read_bytes()
    assert "k3s.lab.example" in yaml.safe_load(config)["tls-san"]
    assert starts(server, "server")[-1] == hashlib.sha256(config).hexdigest()  # read it
    assert len(starts(server, "server")) == 2
    assert len(starts(agent, "agent")) == 1  # its config did not change: left running
    assert "INSTALL_K3S_FORCE_RESTART=true" in install_log(server).split("---")[-2]

    again = sugang_cluster("up", cwd=tmp_path)
    assert "nothing changed" in again.stdout and len(starts(server, "server")) == 2
