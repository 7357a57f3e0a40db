"""The planner, the rendered files and the inventory's validation: pure, no SSH."""

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from sugang.cluster.inventory import Inventory, InventoryError, Role, load
from sugang.cluster.plan import (
    LOAD_BALANCER,
    TOKEN_PLACEHOLDER,
    Action,
    HostFacts,
    plan_up,
    sha256,
)
from sugang.cluster.render import (
    haproxy_config,
    k3s_config,
    kubeconfig_for,
    merge_kubeconfig,
    nginx_stream,
    to_yaml,
)

TOKEN = "K10abc::server:def"


def inventory(servers: int = 1, agents: int = 0, **extra: Any) -> Inventory:
    return Inventory.model_validate(raw_inventory(servers, agents, **extra))


def raw_inventory(servers: int = 1, agents: int = 0, **extra: Any) -> dict[str, Any]:
    nodes = [
        {"name": f"s{i}", "address": f"192.168.0.{10 + i}", "role": "server",
         "node_ip": f"10.0.0.{10 + i}"}
        for i in range(1, servers + 1)
    ] + [
        {"name": f"a{i}", "address": f"192.168.0.{20 + i}", "role": "agent",
         "node_ip": f"10.0.0.{20 + i}"}
        for i in range(1, agents + 1)
    ]  # fmt: skip
    return {"nodes": nodes, **extra}


def fresh(inv: Inventory) -> dict[str, HostFacts]:
    return {n.name: HostFacts() for n in inv.nodes} | {LOAD_BALANCER: HostFacts()}


def test_single_server_plan_installs_then_waits_reads_the_token_and_fetches_the_kubeconfig() -> (
    None
):
    inv = inventory()
    plan = plan_up(inv, fresh(inv), None)
    assert [(s.host, s.action) for s in plan.steps] == [
        ("s1", Action.INSTALL),
        ("s1", Action.WAIT_API),
        ("s1", Action.READ_TOKEN),
        ("s1", Action.KUBECONFIG),
        ("s1", Action.NODES),
    ]
    config = yaml.safe_load(plan.steps[0].files[0].content)
    assert config == {
        "node-name": "s1",
        "node-ip": "10.0.0.11",
        "write-kubeconfig-mode": "0600",
    }
    assert "cluster-init" not in config and "token" not in config
    assert plan.steps[0].commands == (
        "curl -sfL https://get.k3s.io -o /usr/local/bin/k3s-install.sh && "
        "INSTALL_K3S_CHANNEL=stable INSTALL_K3S_EXEC=server sh /usr/local/bin/k3s-install.sh",
    )


def test_agents_join_the_first_server_with_the_token_in_parallel_after_it() -> None:
    inv = inventory(agents=2, cluster={"k3s_version": "v1.34.1+k3s1"})
    plan = plan_up(inv, fresh(inv), TOKEN)
    stages = [(name, parallel, [s.host for s in steps]) for name, parallel, steps in plan.stages]
    assert stages == [
        ("first server", False, ["s1", "s1", "s1"]),
        ("agents", True, ["a1", "a2"]),
        ("kubeconfig", False, ["s1", "s1"]),
    ]
    agent = plan.stages[1][2][0]
    config = yaml.safe_load(agent.files[0].content)
    assert config["server"] == "https://10.0.0.11:6443" and config["token"] == TOKEN
    assert config["node-ip"] == "10.0.0.21"
    assert agent.files[0].mode == "0600" and agent.files[0].secret
    assert all(TOKEN not in command for step in plan.steps for command in step.commands)
    assert "INSTALL_K3S_VERSION=v1.34.1+k3s1 INSTALL_K3S_EXEC=agent" in agent.commands[0]


def test_before_the_first_server_exists_joiners_carry_a_placeholder_not_a_token() -> None:
    inv = inventory(agents=1)
    agent = plan_up(inv, fresh(inv), None).stages[1][2][0]
    assert TOKEN_PLACEHOLDER in agent.files[0].content


def test_ha_with_a_load_balancer() -> None:
    inv = inventory(
        servers=3,
        agents=1,
        cluster={"ha": True, "tls_san": ["k3s.campus.example"], "disable": ["servicelb"],
                 "server_args": ["--kube-apiserver-arg=audit-log-maxage=7",
                                 "--node-label=zone=a", "--node-label=rack=1"]},
        load_balancer={"address": "192.168.0.5", "api_address": "10.0.0.5"},
    )  # fmt: skip
    plan = plan_up(inv, fresh(inv), TOKEN)
    order = [(name, [s.host for s in steps]) for name, _, steps in plan.stages]
    assert order == [
        ("first server", ["s1", "s1", "s1"]),
        ("servers", ["s2", "s3"]),
        ("load balancer", [LOAD_BALANCER]),
        ("agents", ["a1"]),
        ("kubeconfig", ["s1", "s1"]),
    ]
    first, second = (yaml.safe_load(s.files[0].content) for s in (plan.steps[0], plan.steps[3]))
    assert first["cluster-init"] is True and "server" not in first
    assert second["server"] == "https://10.0.0.11:6443" and second["token"] == TOKEN
    assert first["tls-san"] == ["10.0.0.5", "k3s.campus.example"]
    assert first["disable"] == ["servicelb"]
    assert first["kube-apiserver-arg"] == "audit-log-maxage=7"
    assert first["node-label"] == ["zone=a", "rack=1"]
    agent = yaml.safe_load(plan.stages[3][2][0].files[0].content)
    assert agent["server"] == "https://10.0.0.5:6443"
    assert "tls-san" not in agent and "disable" not in agent


def test_nothing_is_planned_when_every_host_already_matches() -> None:
    inv = inventory(agents=1)
    configs = {n.name: to_yaml(k3s_config(inv, n, TOKEN)) for n in inv.nodes}
    facts = {
        n.name: HostFacts(k3s_version="v1.34.1+k3s1", installed_as=n.role,
                          config_sha256=sha256(configs[n.name]))
        for n in inv.nodes
    }  # fmt: skip
    plan = plan_up(inv, facts, TOKEN)
    assert plan.changes == []
    changed = dict(facts, a1=HostFacts(installed_as=Role.AGENT, config_sha256="old"))
    assert [s.host for s in plan_up(inv, changed, TOKEN).changes] == ["a1"]


def test_a_node_added_to_the_inventory_is_the_only_change() -> None:
    inv = inventory(agents=2)
    facts = {
        n.name: HostFacts(
            installed_as=n.role, config_sha256=sha256(to_yaml(k3s_config(inv, n, TOKEN)))
        )
        for n in inv.nodes
        if n.name != "a2"
    } | {"a2": HostFacts()}
    assert [(s.host, s.why) for s in plan_up(inv, facts, TOKEN).changes] == [
        ("a2", "K3s is not installed")
    ]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"cluster": {"ha": True}, "servers": 2}, "HA needs an odd number of servers, at least 3"),
        ({"servers": 2}, "2 servers need ha: true"),
        ({"servers": 0, "agents": 1}, "at least one node needs role: server"),
        ({"cluster": {"flannel_backend": "udp"}}, "cluster.flannel_backend"),
        ({"cluster": {"server_args": ["--token=x"]}}, "sugang cluster sets this itself"),
        ({"cluster": {"airgap": {"k3s_binary": "no", "install_script": "no"}}}, "is not a file"),
        ({"cluster": {"k3s_version": "v1.34.1+k3s1",
                      "airgap": {"k3s_binary": __file__, "install_script": __file__}}},
         "leave k3s_version out"),
        ({"load_balancer": {"address": "1.2.3.4"}, "cluster": {"api_endpoint": "5.6.7.8"}},
         "disagree"),
    ],
)  # fmt: skip
def test_the_inventory_refuses_what_cannot_work(
    tmp_path: Path, change: dict[str, Any], message: str
) -> None:
    servers, agents = change.pop("servers", 1), change.pop("agents", 0)
    raw = raw_inventory(servers, agents) | change
    path = tmp_path / "cluster.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(InventoryError, match=message):
        load(path)


def test_two_nodes_with_one_node_ip_are_refused(tmp_path: Path) -> None:
    raw = inventory(agents=1).model_dump(mode="json")
    raw["nodes"][1]["node_ip"] = raw["nodes"][0]["node_ip"]
    path = tmp_path / "cluster.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(InventoryError, match="two nodes share the node_ip 10.0.0.11"):
        load(path)


HA = {"cluster": {"ha": True}, "load_balancer": {"address": "10.0.0.5"}}


def test_the_nginx_config_is_valid_and_balances_least_conn_over_the_servers(tmp_path: Path) -> None:
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    stream = tmp_path / "stream.conf"
    stream.write_text(nginx_stream(inventory(servers=3, **HA)))
    main = tmp_path / "nginx.conf"
    main.write_text(
        "load_module /usr/lib/nginx/modules/ngx_stream_module.so;\n"
        f"pid {tmp_path}/nginx.pid;\nerror_log stderr;\nevents {{}}\ninclude {stream};\n"
    )
    answer = subprocess.run(
        [nginx, "-t", "-c", str(main), "-p", str(tmp_path)], capture_output=True, text=True
    )
    assert answer.returncode == 0, answer.stderr
    text = stream.read_text()
    assert "least_conn;" in text and "listen 6443;" in text
    for ip in ("10.0.0.11", "10.0.0.12", "10.0.0.13"):
        assert f"server {ip}:6443 max_fails=3 fail_timeout=10s;" in text


def test_the_haproxy_config_is_valid_and_checks_each_server(tmp_path: Path) -> None:
    config = tmp_path / "haproxy.cfg"
    config.write_text(haproxy_config(inventory(servers=3, **HA)))
    answer = subprocess.run(
        [shutil.which("haproxy") or "/usr/sbin/haproxy", "-c", "-f", str(config)],
        capture_output=True,
        text=True,
    )
    assert answer.returncode == 0, answer.stdout + answer.stderr
    text = config.read_text()
    assert "balance leastconn" in text and "mode tcp" in text
    for i in (1, 2, 3):
        assert f"server s{i} 10.0.0.1{i}:6443 check" in text


K3S_YAML = """
apiVersion: v1
kind: Config
clusters:
  - {name: default, cluster: {server: "https://127.0.0.1:6443", certificate-authority-data: Q0E=}}
users: [{name: default, user: {client-certificate-data: Q0VSVA==, client-key-data: S0VZ}}]
contexts: [{name: default, context: {cluster: default, user: default}}]
current-context: default
"""


def test_the_kubeconfig_points_at_the_endpoint_and_merges_beside_other_clusters() -> None:
    inv = inventory(servers=3, **HA)
    new = kubeconfig_for(K3S_YAML, inv)
    assert new["clusters"][0] == {
        "name": "sugang",
        "cluster": {"server": "https://10.0.0.5:6443", "certificate-authority-data": "Q0E="},
    }
    existing = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "work", "cluster": {"server": "https://work:6443"}},
                     {"name": "sugang", "cluster": {"server": "https://old:6443"}}],
        "users": [{"name": "work", "user": {}}],
        "contexts": [{"name": "work", "context": {"cluster": "work", "user": "work"}}],
        "current-context": "work",
    }  # fmt: skip
    merged = merge_kubeconfig(existing, new)
    assert [c["name"] for c in merged["clusters"]] == ["work", "sugang"]
    assert merged["clusters"][1]["cluster"]["server"] == "https://10.0.0.5:6443"
    assert [c["name"] for c in merged["contexts"]] == ["work", "sugang"]
    assert merged["current-context"] == "sugang"
    assert merge_kubeconfig(merged, new) == merged


def test_ufw_is_opened_first_and_only_to_the_other_nodes_for_what_each_role_needs() -> None:
    inv = inventory(servers=3, agents=1, **HA)
    facts = {n.name: HostFacts(ufw_active=True) for n in inv.nodes} | {LOAD_BALANCER: HostFacts()}
    plan = plan_up(inv, facts, TOKEN)
    name, parallel, steps = plan.stages[0]
    assert (name, parallel) == ("firewall", True)
    rules = {step.host: step.commands for step in steps}
    server, agent = rules["s1"], rules["a1"]
    assert "ufw allow from 10.0.0.12 to any port 2379:2380 proto tcp" in server
    assert "ufw allow from 10.0.0.21 to any port 6443 proto tcp" in server
    assert "ufw allow from 10.0.0.5 to any port 6443 proto tcp" in server  # the LB
    assert not any("10.0.0.5" in rule and "10250" in rule for rule in server)
    assert not any("port 6443" in rule or "2379" in rule for rule in agent)
    assert "ufw allow from 10.0.0.11 to any port 8472 proto udp" in agent
    assert not any(rule.startswith("ufw allow 6443") for rule in server)  # never from anywhere


def test_wireguard_opens_its_ports_instead_of_vxlan() -> None:
    inv = inventory(agents=1, cluster={"flannel_backend": "wireguard-native"})
    facts = {n.name: HostFacts(ufw_active=True) for n in inv.nodes}
    rules = " ".join(plan_up(inv, facts, TOKEN).stages[0][2][0].commands)
    assert "51820 proto udp" in rules and "8472" not in rules


def test_a_node_whose_role_changed_is_uninstalled_first() -> None:
    inv = inventory(agents=1)
    facts = fresh(inv) | {"a1": HostFacts(installed_as=Role.SERVER, config_sha256="x")}
    step = next(s for s in plan_up(inv, facts, TOKEN).changes if s.host == "a1")
    assert step.why == "installed as server, the inventory says agent"
    assert step.commands[0] == "/usr/local/bin/k3s-uninstall.sh"
    assert "INSTALL_K3S_EXEC=agent" in step.commands[1]


def test_nginx_without_its_stream_module_gets_it_installed() -> None:
    inv = inventory(servers=3, **HA)
    stream = sha256(nginx_stream(inv))
    facts = fresh(inv) | {
        LOAD_BALANCER: HostFacts(lb_installed=True, lb_config_sha256=stream,
                                 nginx_includes_stream=True, nginx_has_stream=False)
    }  # fmt: skip
    step = plan_up(inv, facts, TOKEN).stages[2][2][0]
    assert step.action is Action.LOAD_BALANCER and step.changes
    assert "libnginx-mod-stream" in step.commands[0]
    ready = facts | {
        LOAD_BALANCER: HostFacts(
            lb_installed=True,
            lb_config_sha256=stream,
            nginx_includes_stream=True,
            nginx_has_stream=True,
        )
    }
    assert not plan_up(inv, ready, TOKEN).stages[2][2][0].changes
