"""The preflight's judges (src/sugang/cluster/checks.py): flannel's UDP port, raw iptables
rules, the load balancer host. Pure: facts and script output in, findings out; no SSH."""

from typing import Any

from sugang.cluster.checks import (
    Finding,
    Level,
    flannel_udp,
    judge_iptables,
    judge_load_balancer,
    judge_node,
    judge_reachability,
    judge_udp,
    lb_probe_targets,
    probe_targets,
    udp_not_probed,
    udp_send_script,
)
from sugang.cluster.inventory import Inventory

LB = {"address": "203.0.113.5", "node_ip": "10.0.0.5"}
# Oracle Cloud's Ubuntu image, /etc/iptables/rules.v4 as `iptables -S INPUT` prints it
ORACLE = """\
-P INPUT ACCEPT
-A INPUT -m state --state RELATED,ESTABLISHED -j ACCEPT
-A INPUT -p icmp -j ACCEPT
-A INPUT -i lo -j ACCEPT
-A INPUT -p udp -m udp --sport 123 -j ACCEPT
-A INPUT -p tcp -m state --state NEW -m tcp --dport 22 -j ACCEPT
-A INPUT -j REJECT --reject-with icmp-host-prohibited
"""
REJECT = "-A INPUT -j REJECT --reject-with icmp-host-prohibited"


def inventory(servers: int = 1, agents: int = 1, ipv6: bool = False, **extra: Any) -> Inventory:
    def ip(n: int) -> str:
        return f"fd00::{n}" if ipv6 else f"10.0.0.{n}"

    nodes = [
        {"name": f"s{i}", "address": f"192.168.0.{10 + i}", "role": "server",
         "node_ip": ip(10 + i)}
        for i in range(1, servers + 1)
    ] + [
        {"name": f"a{i}", "address": f"192.168.0.{20 + i}", "role": "agent",
         "node_ip": ip(20 + i)}
        for i in range(1, agents + 1)
    ]  # fmt: skip
    return Inventory.model_validate({"nodes": nodes, **extra})


def only(findings: list[Finding], check: str) -> Finding:
    [found] = [f for f in findings if f.check == check]
    return found


# --- flannel's UDP port -------------------------------------------------------------------


def test_the_flannel_udp_port_follows_the_backend_and_the_node_ips_family() -> None:
    assert flannel_udp(inventory(), inventory().nodes[0]) == (8472, "VXLAN")
    wireguard = {"cluster": {"flannel_backend": "wireguard-native"}}
    v4 = inventory(**wireguard)
    v6 = inventory(ipv6=True, **wireguard)
    assert flannel_udp(v4, v4.nodes[0]) == (51820, "WireGuard")
    assert flannel_udp(v6, v6.nodes[0]) == (51821, "WireGuard")
    host_gw = inventory(cluster={"flannel_backend": "host-gw"})
    assert flannel_udp(host_gw, host_gw.nodes[0]) is None


def test_udp_fails_on_the_receiver_naming_each_peer_it_did_not_hear() -> None:
    inv = inventory(servers=1, agents=2)
    a1 = inv.node("a1")
    heard = "listening 4242\nfrom 10.0.0.11 sugang-probe s1\nfrom 10.0.0.11 sugang-probe s1\n"

    findings = judge_udp(inv, a1, {}, {"listener": "listening"}, heard)

    assert findings == [
        Finding(
            "a1",
            "UDP 8472",
            Level.FAIL,
            "no UDP 8472 from 10.0.0.22 (a2, VXLAN)",
            "allow 8472/udp from 10.0.0.22 on 10.0.0.21 (firewall or security group)",
        )
    ]


def test_udp_passes_when_every_other_node_was_heard() -> None:
    inv = inventory(servers=1, agents=1)
    heard = "listening 7\nfrom 10.0.0.21 sugang-probe a1\n"
    [finding] = judge_udp(inv, inv.node("s1"), {}, {"listener": "listening"}, heard)
    assert finding.level is Level.PASS and "8472/udp (VXLAN)" in finding.detail


def test_udp_is_not_probed_where_k3s_runs_or_the_port_is_taken() -> None:
    inv = inventory()
    s1 = inv.node("s1")
    for facts, why in (
        ({"k3s": "yes"}, "K3s is installed"),
        ({"udp_listening": "53 8472"}, "8472/udp is in use"),
    ):
        assert udp_not_probed(inv, s1, facts)
        [finding] = judge_udp(inv, s1, facts, {}, "")
        assert finding.level is Level.PASS
        assert finding.detail.startswith("not probed") and why in finding.detail


def test_udp_warns_when_the_listener_could_not_run_or_ended_before_it_was_read() -> None:
    inv = inventory()
    s1 = inv.node("s1")
    [missing] = judge_udp(inv, s1, {}, {"listener": "python3 is missing"}, "")
    assert missing.level is Level.WARN and "python3" in missing.fix
    [gone] = judge_udp(inv, s1, {}, {"listener": "listening"}, "gone\n")
    assert gone.level is Level.WARN and "ended before it was read" in gone.detail


def test_no_udp_finding_for_host_gw_or_a_single_node() -> None:
    host_gw = inventory(cluster={"flannel_backend": "host-gw"})
    assert judge_udp(host_gw, host_gw.nodes[0], {}, {}, "") == []
    single = inventory(agents=0)
    assert judge_udp(single, single.nodes[0], {}, {}, "") == []


def test_each_node_sends_to_the_other_listening_nodes_only() -> None:
    inv = inventory(servers=1, agents=2)
    script = udp_send_script(inv, inv.node("a1"), [inv.node("s1"), inv.node("a1")])
    assert "10.0.0.11/8472" in script and "10.0.0.21/8472" not in script
    assert "sugang-probe a1" in script and "/dev/udp/" in script
    assert udp_send_script(inv, inv.node("a1"), [inv.node("a1")]) == "true\n"


# --- raw iptables rules -------------------------------------------------------------------


def test_oracles_default_rules_fail_naming_the_k3s_ports() -> None:
    inv = inventory(servers=1, agents=1)

    [finding] = judge_iptables(inv, inv.node("s1"), {}, ORACLE)

    assert finding.level is Level.FAIL and finding.check == "firewall (iptables)"
    assert "rule 6 of INPUT" in finding.detail
    for port in ("10250/tcp", "6443/tcp", "8472/udp"):
        assert port in finding.detail
    assert "`sugang cluster up` does not change iptables rules outside ufw" in finding.detail
    assert "sudo iptables -I INPUT 6 -p tcp -s 10.0.0.21 -m multiport --dports 10250,6443" in (
        finding.fix
    )
    assert "sudo iptables -I INPUT 6 -p udp -s 10.0.0.21 --dport 8472 -j ACCEPT" in finding.fix
    assert finding.fix.endswith("sudo netfilter-persistent save")


def test_accepts_before_the_reject_pass() -> None:
    inv = inventory(servers=1, agents=1)
    opened = ORACLE.replace(
        REJECT,
        "-A INPUT -p tcp -m multiport --dports 6443,10250 -j ACCEPT\n"
        "-A INPUT -s 10.0.0.0/24 -p udp -m udp --dport 8472 -j ACCEPT\n" + REJECT,
    )
    [finding] = judge_iptables(inv, inv.node("s1"), {}, opened)
    assert finding.level is Level.PASS


def test_accepts_after_the_reject_do_not_count() -> None:
    inv = inventory(servers=1, agents=1)
    late = (
        ORACLE + "-A INPUT -p tcp --dport 10250 -j ACCEPT\n-A INPUT -p udp --dport 8472 -j ACCEPT\n"
    )
    [finding] = judge_iptables(inv, inv.node("a1"), {}, late)
    assert finding.level is Level.FAIL
    assert "10250/tcp" in finding.detail and "8472/udp" in finding.detail


def test_a_drop_policy_fails_and_the_fix_appends() -> None:
    inv = inventory(servers=1, agents=1)
    rules = "-P INPUT DROP\n-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n"
    [finding] = judge_iptables(inv, inv.node("a1"), {}, rules)
    assert finding.level is Level.FAIL and "the INPUT policy DROP" in finding.detail
    assert "sudo iptables -A INPUT -p tcp -s 10.0.0.11 --dport 10250 -j ACCEPT" in finding.fix


def test_no_iptables_or_an_accepting_chain_passes() -> None:
    inv = inventory()
    for text in ("", "-P INPUT ACCEPT\n"):
        [finding] = judge_iptables(inv, inv.node("a1"), {}, text)
        assert finding.level is Level.PASS


def test_iptables_is_not_judged_when_ufw_is_active() -> None:
    inv = inventory()
    assert judge_iptables(inv, inv.node("a1"), {"ufw": "active"}, ORACLE) == []


def test_loopback_established_and_source_port_accepts_do_not_open_a_port() -> None:
    inv = inventory()
    rules = (
        "-P INPUT ACCEPT\n-A INPUT -i lo -j ACCEPT\n"
        "-A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT\n"
        "-A INPUT -p udp --sport 8472 -j ACCEPT\n" + REJECT + "\n"
    )
    [finding] = judge_iptables(inv, inv.node("a1"), {}, rules)
    assert finding.level is Level.FAIL and "8472/udp" in finding.detail


def test_an_accept_for_other_sources_does_not_cover_the_peers() -> None:
    inv = inventory(servers=1, agents=1)
    rules = "-A INPUT -s 192.168.9.0/24 -j ACCEPT\n" + REJECT + "\n"
    [finding] = judge_iptables(inv, inv.node("a1"), {}, rules)
    assert finding.level is Level.FAIL
    covered = "-A INPUT -s 10.0.0.0/24 -j ACCEPT\n" + REJECT + "\n"
    assert judge_iptables(inv, inv.node("a1"), {}, covered)[0].level is Level.PASS


def test_a_drop_for_the_port_itself_fails_and_one_with_unknown_conditions_does_not() -> None:
    inv = inventory()
    dropped = "-A INPUT -p udp -m udp --dport 8472 -j DROP\n"
    [finding] = judge_iptables(inv, inv.node("a1"), {}, dropped)
    assert finding.level is Level.FAIL and finding.detail.count("/udp") == 1
    limited = "-A INPUT -p udp -m limit --limit 5/min -j DROP\n"
    assert judge_iptables(inv, inv.node("a1"), {}, limited)[0].level is Level.PASS


def test_etcd_ports_are_needed_between_ha_servers_only() -> None:
    inv = inventory(servers=3, agents=1, cluster={"ha": True})
    [server] = judge_iptables(inv, inv.node("s1"), {}, ORACLE)
    assert "2379-2380/tcp" in server.detail
    assert "-p tcp -s 10.0.0.12,10.0.0.13 --dport 2379:2380 -j ACCEPT" in server.fix
    [agent] = judge_iptables(inv, inv.node("a1"), {}, ORACLE)
    assert "2379" not in agent.detail


def test_ip6tables_is_read_for_ipv6_node_ips() -> None:
    inv = inventory(ipv6=True, cluster={"flannel_backend": "wireguard-native"})
    [finding] = judge_iptables(inv, inv.node("a1"), {}, ORACLE)
    assert finding.check == "firewall (ip6tables)" and "51821/udp" in finding.detail
    assert "sudo ip6tables -I INPUT 6" in finding.fix


def test_the_servers_api_port_must_admit_the_load_balancer() -> None:
    inv = inventory(load_balancer=LB)
    rules = "-A INPUT -s 10.0.0.21 -j ACCEPT\n" + REJECT + "\n"
    [finding] = judge_iptables(inv, inv.node("s1"), {}, rules)
    assert finding.level is Level.FAIL and "6443/tcp from 10.0.0.5" in finding.detail


def test_ufw_says_that_up_opens_its_ports() -> None:
    inv = inventory()
    found = only(judge_node(inv, inv.node("s1"), {"ufw": "active"}), "firewall")
    assert "`sugang cluster up` opens the K3s ports in ufw from the other nodes" in found.detail


# --- the load balancer host ---------------------------------------------------------------

READY = {"nginx": "yes", "nginx_stream": "yes", "apt": "yes", "apt_lists": "yes"}


def test_the_nodes_probe_the_load_balancer_and_it_probes_the_servers() -> None:
    inv = inventory(servers=3, agents=1, cluster={"ha": True}, load_balancer=LB)
    assert ("10.0.0.5", 6443) in probe_targets(inv, inv.node("a1"))
    assert lb_probe_targets(inv) == [("10.0.0.11", 6443), ("10.0.0.12", 6443), ("10.0.0.13", 6443)]


def test_a_ready_load_balancer_host_passes_and_reaches_the_servers() -> None:
    inv = inventory(load_balancer=LB)
    findings = judge_load_balancer(inv, READY, "10.0.0.11 6443 refused\n")
    assert {f.node for f in findings} == {"load-balancer"}
    assert [f.level for f in findings] == [Level.PASS] * 3


def test_6443_held_by_the_configured_kind_passes_and_by_anything_else_fails() -> None:
    inv = inventory(load_balancer=LB)
    listening = 'LISTEN 0 511 0.0.0.0:6443 0.0.0.0:* users:(("{}",pid=9,fd=6)) '

    ours = only(judge_load_balancer(inv, READY | {"port_6443": listening.format("nginx")}, ""),
                "port 6443")  # fmt: skip
    assert ours.level is Level.PASS and "earlier `sugang cluster up`" in ours.detail

    other = only(judge_load_balancer(inv, READY | {"port_6443": listening.format("socat")}, ""),
                 "port 6443")  # fmt: skip
    assert other.level is Level.FAIL and "in use by socat" in other.detail

    kind = only(judge_load_balancer(inv, READY | {"port_6443": listening.format("haproxy")}, ""),
                "port 6443")  # fmt: skip
    assert kind.level is Level.FAIL and "kind: nginx" in kind.detail


def test_missing_software_passes_when_apt_can_install_it_and_fails_when_it_cannot() -> None:
    inv = inventory(load_balancer=LB)
    base = {"apt": "yes", "apt_lists": "yes", "candidate_nginx": "1.24.0-2ubuntu7"}

    installable = base | {"candidate_libnginx-mod-stream": "1.24.0-2ubuntu7"}
    found = only(judge_load_balancer(inv, installable, ""), "nginx")
    assert found.level is Level.PASS and "`up` installs nginx 1.24.0-2ubuntu7" in found.detail

    no_stream = base | {"candidate_libnginx-mod-stream": "(none)"}
    found = only(judge_load_balancer(inv, no_stream, ""), "nginx")
    assert found.level is Level.FAIL and "libnginx-mod-stream" in found.detail and found.fix

    empty_lists = {"apt": "yes"}
    assert only(judge_load_balancer(inv, empty_lists, ""), "nginx").level is Level.WARN

    haproxy = inventory(load_balancer=LB | {"kind": "haproxy"})
    found = only(judge_load_balancer(haproxy, {}, ""), "haproxy")
    assert found.level is Level.FAIL and "no apt-get" in found.detail


def test_the_load_balancer_not_reaching_a_server_fails_with_its_private_address() -> None:
    inv = inventory(load_balancer=LB)
    found = only(judge_load_balancer(inv, READY, "10.0.0.11 6443 timeout\n"), "reachability")
    assert found.level is Level.FAIL
    assert found.fix == "allow 6443/tcp from 10.0.0.5 on 10.0.0.11 (firewall or security group)"


def test_what_ufw_drops_is_a_warning_because_up_opens_it() -> None:
    inv = inventory(servers=1, agents=2)
    probes = "10.0.0.21 10250 timeout\n10.0.0.22 10250 timeout\n"

    found = judge_reachability("s1", "10.0.0.11", probes, frozenset({"10.0.0.21"}))

    assert [(f.level, f.detail) for f in found] == [
        (Level.WARN, "cannot reach 10.0.0.21:10250/tcp (timeout)"),
        (Level.FAIL, "cannot reach 10.0.0.22:10250/tcp (timeout)"),
    ]
    assert "`sugang cluster up` opens this port" in found[0].fix
    [udp] = judge_udp(
        inv,
        inv.node("a1"),
        {"ufw": "active"},
        {"listener": "listening"},
        "from 10.0.0.11 sugang-probe s1\n",
    )
    assert udp.level is Level.WARN and "no UDP 8472 from 10.0.0.22" in udp.detail
