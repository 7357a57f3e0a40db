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
    PlanError,
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
        "advertise-address": "10.0.0.11",
        "tls-san": ["192.168.0.11"],  # the address SSH reaches: the kubeconfig's
        "write-kubeconfig-mode": "0600",
    }
    assert "cluster-init" not in config and "token" not in config
    assert plan.steps[0].commands == (
        "curl -sfL https://get.k3s.io -o /usr/local/bin/k3s-install.sh && "
        "INSTALL_K3S_CHANNEL=stable INSTALL_K3S_EXEC=server sh /usr/local/bin/k3s-install.sh",
        "rm -f /etc/rancher/k3s/sugang-install-failed",
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
        ("servers", ["s2", "s2", "s3", "s3"]),  # each installed, then its /readyz waited for
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
    assert [s.action for s in plan.stages[1][2]] == [Action.INSTALL, Action.WAIT_API] * 2
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


@pytest.mark.parametrize(
    ("flag", "field"),
    [
        ("--node-name=x", "the node's `name`"),
        ("--node-ip=10.0.0.99", "the node's `node_ip`"),
        ("--cluster-init", "`cluster.ha: true`"),
        ("--advertise-address=1.2.3.4", "always its advertise address"),
        ("--server=https://x:6443", "joiners are pointed at"),
        ("--token=x", "read from the first server"),
        ("--flannel-backend=host-gw", "`cluster.flannel_backend`"),
    ],
)
def test_flags_that_make_a_node_what_it_is_are_refused_with_the_field_to_use(
    tmp_path: Path, flag: str, field: str
) -> None:
    for where in ("server_args", "agent_args", "node"):
        raw = raw_inventory(1, 1)
        if where == "node":
            raw["nodes"][1]["args"] = [flag]
        else:
            raw["cluster"] = {where: [flag]}
        path = tmp_path / "cluster.yaml"
        path.write_text(yaml.safe_dump(raw))
        with pytest.raises(InventoryError, match="sugang cluster sets this itself") as refused:
            load(path)
        assert field in str(refused.value), where


def test_list_flags_add_to_the_tools_values_and_node_args_apply_to_their_node_only() -> None:
    """--tls-san=x must not drop the load balancer's address from the certificate
    (k3s-io/k3s#5159), --disable=servicelb must not replace cluster.disable."""
    inv = inventory(
        servers=3, agents=2, **HA | {"cluster": {
            "ha": True, "disable": ["traefik"], "tls_san": ["k3s.example.lan"],
            "server_args": ["--tls-san=extra.example.lan", "--disable=servicelb",
                            "--node-taint=CriticalAddonsOnly=true:NoExecute",
                            "--kube-apiserver-arg=audit-log-maxage=30"],
            "agent_args": ["--node-label=tier=worker"],
        }},
    )  # fmt: skip
    raw = inv.model_dump(mode="json")
    raw["nodes"][3]["args"] = ["--node-label=zone=b", "--flannel-iface=ens5"]
    inv = Inventory.model_validate(raw)
    s1 = k3s_config(inv, inv.node("s1"), TOKEN)
    assert s1["tls-san"] == ["10.0.0.5", "k3s.example.lan", "extra.example.lan"]
    assert s1["disable"] == ["traefik", "servicelb"]
    assert s1["node-taint"] == ["CriticalAddonsOnly=true:NoExecute"]
    assert s1["kube-apiserver-arg"] == "audit-log-maxage=30"
    names = {k3s_config(inv, inv.node(n), TOKEN)["node-name"] for n in ("s1", "s2", "s3")}
    assert names == {"s1", "s2", "s3"}
    assert "cluster-init" not in k3s_config(inv, inv.node("s2"), TOKEN)
    a1, a2 = (k3s_config(inv, inv.node(n), TOKEN) for n in ("a1", "a2"))
    assert a1["node-label"] == ["tier=worker", "zone=b"] and a1["flannel-iface"] == "ens5"
    assert a2["node-label"] == ["tier=worker"] and "flannel-iface" not in a2


def test_every_server_advertises_its_own_private_address() -> None:
    """K3s advertises the external address when a server has one and no advertise address
    is given: in-cluster API traffic would then go to public addresses."""
    raw = raw_inventory(3, **HA)
    for i, node in enumerate(raw["nodes"]):
        node["external_address"] = f"203.0.113.{i + 1}"
    inv = Inventory.model_validate(raw)
    for server in inv.servers:
        config = k3s_config(inv, server, TOKEN)
        assert config["advertise-address"] == str(server.node_ip)
        assert config["node-external-ip"] == server.external_address
        assert server.external_address in config["tls-san"]


CLOUD = {
    "cluster": {"ha": True},
    "load_balancer": {"address": "203.0.113.5", "node_ip": "10.0.0.5"},
}


def test_cloud_vms_with_public_ssh_and_private_node_addresses() -> None:
    """The agents join the load balancer's private address; the servers' ufw lets 6443 in
    from it; the operator's kubeconfig uses the address SSH reaches it by; the certificate
    carries both."""
    raw = raw_inventory(3, 1) | CLOUD
    for node in raw["nodes"]:
        node["address"] = node["address"].replace("192.168.0.", "198.51.100.")
    inv = Inventory.model_validate(raw)
    agent = k3s_config(inv, inv.node("a1"), TOKEN)
    assert agent["server"] == "https://10.0.0.5:6443"
    server = k3s_config(inv, inv.node("s1"), TOKEN)
    assert {"10.0.0.5", "203.0.113.5"} <= set(server["tls-san"])
    assert kubeconfig_for(K3S_YAML, inv)["clusters"][0]["cluster"]["server"] == (
        "https://203.0.113.5:6443"
    )
    facts = {n.name: HostFacts(ufw_active=True) for n in inv.nodes} | {LOAD_BALANCER: HostFacts()}
    rules = {s.host: s.commands for s in plan_up(inv, facts, TOKEN).stages[0][2]}
    assert "ufw allow from 10.0.0.5 to any port 6443 proto tcp" in rules["s1"]
    assert not any("203.0.113.5" in rule for rule in rules["s1"])


def test_without_a_load_balancer_the_kubeconfig_uses_the_ssh_address_or_the_one_given() -> None:
    raw = raw_inventory(1, 1)
    raw["nodes"][0]["address"] = "198.51.100.11"
    inv = Inventory.model_validate(raw)
    assert k3s_config(inv, inv.node("a1"), TOKEN)["server"] == "https://10.0.0.11:6443"
    assert kubeconfig_for(K3S_YAML, inv)["clusters"][0]["cluster"]["server"] == (
        "https://198.51.100.11:6443"
    )
    assert "198.51.100.11" in k3s_config(inv, inv.node("s1"), TOKEN)["tls-san"]
    given = Inventory.model_validate(raw | {"cluster": {"kubeconfig_endpoint": "k3s.example"}})
    assert kubeconfig_for(K3S_YAML, given)["clusters"][0]["cluster"]["server"] == (
        "https://k3s.example:6443"
    )
    assert "k3s.example" in k3s_config(given, given.node("s1"), TOKEN)["tls-san"]


def test_a_load_balancer_on_a_server_is_refused(tmp_path: Path) -> None:
    raw = raw_inventory(3) | {"cluster": {"ha": True}, "load_balancer": {"address": "192.168.0.12"}}
    path = tmp_path / "cluster.yaml"
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(InventoryError, match="the load balancer is on the server s2"):
        load(path)


def test_a_changed_config_restarts_k3s_and_the_servers_go_one_at_a_time() -> None:
    """install.sh restarts K3s only for a new binary, unit or env file: a new config alone
    needs INSTALL_K3S_FORCE_RESTART, and each server's API must answer before the next one
    restarts."""
    old = inventory(servers=3, agents=1, **HA)
    new = inventory(servers=3, agents=1, **HA | {"cluster": {"ha": True, "tls_san": ["k3s.new"]}})
    facts: dict[str, HostFacts] = {LOAD_BALANCER: HostFacts()}
    for node in old.nodes:
        content = to_yaml(k3s_config(old, node, TOKEN if node.name != "s1" else None))
        facts[node.name] = HostFacts(
            k3s_version="v1.34.1+k3s1", installed_as=node.role, config_sha256=sha256(content)
        )
    plan = plan_up(new, facts, TOKEN)
    changed = [s for s in plan.changes if s.action is Action.INSTALL]
    assert [s.host for s in changed] == ["s1", "s2", "s3"]  # the agent's config is the same
    for step in changed:
        assert "INSTALL_K3S_FORCE_RESTART=true" in step.commands[0]
        assert "K3s restarts to read it" in step.why
    servers = [(s.host, s.action) for s in plan.stages[1][2]]
    assert servers == [("s2", Action.INSTALL), ("s2", Action.WAIT_API),
                       ("s3", Action.INSTALL), ("s3", Action.WAIT_API)]  # fmt: skip
    first = [(s.host, s.action) for s in plan.stages[0][2]]
    assert first[:2] == [("s1", Action.INSTALL), ("s1", Action.WAIT_API)]
    fresh_install = plan_up(new, fresh(new), TOKEN).steps[0]
    assert "FORCE_RESTART" not in fresh_install.commands[0]  # a first install starts anyway


def test_nodes_after_the_first_server_get_the_version_it_runs_not_the_channels() -> None:
    inv = inventory(agents=2)
    facts = fresh(inv) | {"s1": HostFacts(k3s_version="v1.33.4+k3s1", installed_as=Role.SERVER)}
    plan = plan_up(inv, facts, TOKEN)
    for step in plan.changes:
        if step.host in {"a1", "a2"}:
            assert "INSTALL_K3S_VERSION=v1.33.4+k3s1" in step.commands[0]
            assert "INSTALL_K3S_CHANNEL" not in step.commands[0]
    ahead = facts | {"a2": HostFacts(k3s_version="v1.34.1+k3s1", installed_as=Role.AGENT)}
    with pytest.raises(PlanError, match="a2 run a newer K3s minor than v1.33.4"):
        plan_up(inv, ahead, TOKEN)


def test_a_failed_install_is_tried_again_and_the_load_balancer_updates_apt_first() -> None:
    inv = inventory(servers=3, agents=1, **HA)
    content = to_yaml(k3s_config(inv, inv.node("a1"), TOKEN))
    facts = fresh(inv) | {
        "a1": HostFacts(installed_as=Role.AGENT, config_sha256=sha256(content),
                        install_failed=True)
    }  # fmt: skip
    step = next(s for s in plan_up(inv, facts, TOKEN).changes if s.host == "a1")
    assert step.why == "the last install failed"
    lb = next(s for s in plan_up(inv, facts, TOKEN).changes if s.host == LOAD_BALANCER)
    apt = lb.commands[0]
    assert apt.index("apt-get -o DPkg::Lock::Timeout=600 update") < apt.index("install -y")
    assert "unattended-upgrades" in apt
