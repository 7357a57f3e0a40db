"""Preflight (`sugang cluster check`): what each node and the load balancer host report,
judged against what K3s needs. Gathering is shell scripts run over SSH (facts, TCP probes, the
iptables INPUT chain, and flannel's UDP port in three rounds: listen, send, read); judging is
pure."""

import ipaddress
import re
import shlex
from collections import Counter
from dataclasses import dataclass
from enum import StrEnum

from sugang.cluster.inventory import API_PORT, Inventory, LoadBalancer, Node, Role
from sugang.cluster.plan import FLANNEL_UDP, LOAD_BALANCER

# K3s's documented minimums (docs.k3s.io/installation/requirements)
MIN_CPUS = {Role.SERVER: 2, Role.AGENT: 1}
MIN_MEMORY_MIB = {Role.SERVER: 2048, Role.AGENT: 512}
ARCHES = {"x86_64", "aarch64", "armv7l", "s390x"}
TCP_PORTS = {Role.SERVER: [API_PORT, 10250], Role.AGENT: [10250]}
ETCD_PORTS = [2379, 2380]
# A UDP listener lives at most this long; `check` stops it as soon as it has read it.
LISTEN_SECONDS = 8

GATHER = r"""
. /etc/os-release 2>/dev/null; echo "os=${ID:-unknown} ${VERSION_ID:-}"
echo "arch=$(uname -m)"
echo "memory_kib=$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)"
echo "cpus=$(nproc)"
echo "swap_kib=$(awk 'NR > 1 {total += $3} END {print total + 0}' /proc/swaps)"
echo "ntp=$(timedatectl show -p NTPSynchronized --value 2>/dev/null)"
echo "hostname=$(hostname)"
echo "macs=$(cat /sys/class/net/*/address 2>/dev/null | grep -v '^00:00:00:00:00:00$' \
  | sort -u | tr '\n' ' ')"
echo "product_uuid=$(cat /sys/class/dmi/id/product_uuid 2>/dev/null)"
for module in overlay br_netfilter; do
  if [ -d /sys/module/$module ] || modinfo $module >/dev/null 2>&1; then
    echo "module_$module=yes"; fi
done
echo "addresses=$(ip -o addr show 2>/dev/null | awk '{print $4}' | cut -d/ -f1 | tr '\n' ' ')"
echo "tcp_listening=$(ss -Hltn 2>/dev/null | awk '{print $4}' | sed 's/.*://' \
  | sort -un | tr '\n' ' ')"
echo "udp_listening=$(ss -Hlun 2>/dev/null | awk '{print $4}' | sed 's/.*://' \
  | sort -un | tr '\n' ' ')"
echo "ufw=$(ufw status 2>/dev/null | head -n1 | cut -d' ' -f2)"
[ -x /usr/local/bin/k3s ] && echo k3s=yes
true
"""


class Level(StrEnum):
    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True)
class Finding:
    node: str
    check: str
    level: Level
    detail: str
    fix: str = ""


def key_values(text: str) -> dict[str, str]:
    """The `key=value` lines a gathering script prints, values stripped; other lines are
    ignored."""
    return {
        key: value.strip()
        for key, equals, value in (line.partition("=") for line in text.splitlines())
        if key and equals
    }


def probe_script(targets: list[tuple[str, int]]) -> str:
    """From one node: can it reach each (address, tcp port)? "refused" means the packet got
    there and nothing listens yet (fine before K3s runs); a timeout means a firewall drops it."""
    lines = []
    for address, port in targets:
        quoted = shlex.quote(address)
        lines.append(
            f"if out=$(timeout 3 bash -c '</dev/tcp/'{quoted}'/{port}' 2>&1); then r=open; "
            f"elif [ $? -eq 124 ]; then r=timeout; "
            f'else case "$out" in *refused*) r=refused;; *) r=unreachable;; esac; fi; '
            f'echo "{address} {port} $r"'
        )
    return "\n".join(lines) + "\ntrue\n"


def probe_targets(inventory: Inventory, node: Node) -> list[tuple[str, int]]:
    """The ports this node must reach on the others, and the load balancer's API port."""
    found = []
    for other in inventory.nodes:
        if other == node:
            continue
        ports = list(TCP_PORTS[other.role])
        if inventory.cluster.ha and node.role is Role.SERVER and other.role is Role.SERVER:
            ports += ETCD_PORTS
        found += [(str(other.node_ip), port) for port in ports]
    if inventory.load_balancer:
        found.append((inventory.load_balancer.private, API_PORT))
    return found


def lb_probe_targets(inventory: Inventory) -> list[tuple[str, int]]:
    """The load balancer forwards to every server's API."""
    return [(str(server.node_ip), API_PORT) for server in inventory.servers]


def judge_node(inventory: Inventory, node: Node, facts: dict[str, str]) -> list[Finding]:
    found: list[Finding] = []

    def add(check: str, level: Level, detail: str, fix: str = "") -> None:
        found.append(Finding(node.name, check, level, detail, fix))

    os_name = facts.get("os", "unknown")
    add(
        "os",
        Level.PASS if os_name.startswith("ubuntu") else Level.WARN,
        os_name,
        ""
        if os_name.startswith("ubuntu")
        else "sugang cluster is made for Ubuntu; K3s may still work",
    )
    arch = facts.get("arch", "?")
    add("arch", Level.PASS if arch in ARCHES else Level.FAIL, arch, "K3s has no build for it")
    cpus = int(facts.get("cpus") or 0)
    add(
        "cpu",
        Level.PASS if cpus >= MIN_CPUS[node.role] else Level.WARN,
        f"{cpus} CPUs (K3s {node.role}: {MIN_CPUS[node.role]})",
        "give the machine more CPUs",
    )
    memory = int(facts.get("memory_kib") or 0) // 1024
    add(
        "memory",
        Level.PASS if memory >= MIN_MEMORY_MIB[node.role] else Level.FAIL,
        f"{memory} MiB (K3s {node.role}: {MIN_MEMORY_MIB[node.role]} MiB)",
        "give the machine more memory",
    )
    swap = int(facts.get("swap_kib") or 0)
    add(
        "swap",
        Level.PASS if swap == 0 else Level.WARN,
        "off" if swap == 0 else f"{swap // 1024} MiB on",
        "sudo swapoff -a && sudo sed -i '/\\sswap\\s/ s/^/#/' /etc/fstab",
    )
    ntp = facts.get("ntp", "")
    etcd = inventory.cluster.ha and node.role is Role.SERVER
    add(
        "time sync",
        Level.PASS if ntp == "yes" else (Level.FAIL if etcd and ntp == "no" else Level.WARN),
        {"yes": "synchronized", "no": "not synchronized"}.get(
            ntp, "unknown (timedatectl gave no answer)"
        ),
        "sudo timedatectl set-ntp true (etcd needs clocks in step)",
    )
    for module in ("overlay", "br_netfilter"):
        present = facts.get(f"module_{module}") == "yes"
        add(
            f"module {module}",
            Level.PASS if present else Level.FAIL,
            "available" if present else "missing",
            f"sudo modprobe {module} (and install linux-modules-extra for this kernel)",
        )
    addresses = facts.get("addresses", "").split()
    node_ip = str(node.node_ip)
    add(
        "node-ip",
        Level.PASS if node_ip in addresses else Level.FAIL,
        f"{node_ip} {'is' if node_ip in addresses else 'is not'} an address of this host"
        + ("" if node_ip in addresses else f" (it has {', '.join(addresses) or 'none'})"),
        "set node_ip in cluster.yaml to one of the host's LAN addresses",
    )
    found += _ports_free(inventory, node, facts)
    ufw = facts.get("ufw", "")
    add(
        "firewall",
        Level.WARN if ufw == "active" else Level.PASS,
        "ufw is active: `sugang cluster up` opens the K3s ports in ufw from the other nodes"
        if ufw == "active"
        else (f"ufw {ufw}" if ufw else "no ufw"),
    )
    return found


def _ports_free(inventory: Inventory, node: Node, facts: dict[str, str]) -> list[Finding]:
    if facts.get("k3s") == "yes":
        return [Finding(node.name, "ports", Level.PASS, "K3s is installed and holds its ports")]
    tcp = set(facts.get("tcp_listening", "").split())
    udp = set(facts.get("udp_listening", "").split())
    wanted_tcp = TCP_PORTS[node.role] + (ETCD_PORTS if node.role is Role.SERVER else [])
    taken = [f"{p}/tcp" for p in wanted_tcp if str(p) in tcp]
    flannel = flannel_udp(inventory, node)
    taken += [f"{flannel[0]}/udp"] if flannel and str(flannel[0]) in udp else []
    if taken:
        return [
            Finding(
                node.name,
                "ports",
                Level.FAIL,
                f"in use: {', '.join(taken)}",
                "stop what listens there: sudo ss -ltnup | grep -E '"
                + "|".join(t.split("/")[0] for t in taken)
                + "'",
            )
        ]
    return [Finding(node.name, "ports", Level.PASS, "K3s's ports are free")]


UFW_OPENS = (
    "ufw is active there, and `sugang cluster up` opens this port in it; if it still fails "
    "after `up`, look at the security group"
)


def judge_reachability(
    name: str, source: str, probe_output: str, ufw_active: frozenset[str] = frozenset()
) -> list[Finding]:
    """The probes from one host (`name`, whose packets come from `source`). A port dropped by
    a host in `ufw_active` (node_ips) is a warning: `up` opens it."""
    found = []
    for line in probe_output.splitlines():
        parts = line.split()
        if len(parts) != 3:
            continue
        address, port, result = parts
        if result in {"open", "refused"}:
            continue
        opened = address in ufw_active
        found.append(
            Finding(
                name,
                "reachability",
                Level.WARN if opened else Level.FAIL,
                f"cannot reach {address}:{port}/tcp ({result})",
                UFW_OPENS
                if opened
                else f"allow {port}/tcp from {source} on {address} (firewall or security group)",
            )
        )
    if not found:
        found.append(Finding(name, "reachability", Level.PASS, "reaches the other hosts"))
    return found


# --- flannel's UDP port between the nodes -------------------------------------------------
# A UDP port gives no answer to probe, so `check` listens on each node and has the others send
# to it. The listener writes what it hears to a file; it removes the file when it is stopped
# (SIGTERM from `check` once read, or from `timeout` if `check` never comes back).
LISTENER = r"""
import os, signal, socket, sys
address, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
out = open(path, "a", buffering=1)
try:
    udp = socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind((address, port))
except OSError as error:
    out.write(f"error {error}\n")
    sys.exit()
signal.signal(signal.SIGTERM, lambda *_: sys.exit())
out.write(f"listening {os.getpid()}\n")
try:
    while True:
        data, peer = udp.recvfrom(512)
        out.write(f"from {peer[0]} {' '.join(data.decode(errors='replace').split()[:2])}\n")
finally:
    try:
        os.remove(path)
    except OSError:
        pass
"""
PROBE_PAYLOAD = "sugang-probe"


def flannel_udp(inventory: Inventory, node: Node) -> tuple[int, str] | None:
    """The UDP port flannel's backend receives on at this node, and what it carries; None for
    host-gw and none. WireGuard uses 51820 for IPv4 and 51821 for IPv6 traffic: the port of the
    node_ip's family is the one probed."""
    ports = FLANNEL_UDP.get(inventory.cluster.flannel_backend)
    if ports is None:
        return None
    ipv4, ipv6, label = ports
    return (ipv6 if node.node_ip.version == 6 else ipv4), label


def udp_not_probed(inventory: Inventory, node: Node, facts: dict[str, str]) -> str | None:
    """Why no listener can run on this node (None: one can)."""
    flannel = flannel_udp(inventory, node)
    if flannel is None or len(inventory.nodes) < 2:
        return "no UDP to probe"
    if facts.get("k3s") == "yes":
        return f"not probed: K3s is installed and holds {flannel[0]}/udp"
    if str(flannel[0]) in facts.get("udp_listening", "").split():
        return f"not probed: {flannel[0]}/udp is in use here"
    return None


def udp_listen_script(inventory: Inventory, node: Node) -> str:
    """Start a listener on node_ip:port in the background (at most LISTEN_SECONDS) and wait
    until it has bound; prints listener=listening with its pid= and file=, or listener=<why
    not>."""
    flannel = flannel_udp(inventory, node)
    assert flannel is not None
    address = shlex.quote(str(node.node_ip))
    return (
        'command -v python3 >/dev/null || { echo "listener=python3 is missing"; exit 0; }\n'
        'file=$(mktemp /tmp/sugang-udp.XXXXXX) || { echo "listener=mktemp failed"; exit 0; }\n'
        f"setsid nohup timeout {LISTEN_SECONDS} python3 -c {shlex.quote(LISTENER)} "
        f'{address} {flannel[0]} "$file" </dev/null >/dev/null 2>&1 &\n'
        'for _ in $(seq 30); do [ -s "$file" ] && break; sleep 0.1; done\n'
        'state=$(head -n1 "$file")\n'
        'case "$state" in\n'
        '  listening*) echo listener=listening; echo "pid=${state#listening }"; '
        'echo "file=$file";;\n'
        '  *) echo "listener=${state:-no answer within 3 s}"; rm -f "$file";;\n'
        "esac\n"
    )


def udp_send_script(inventory: Inventory, node: Node, listening: list[Node]) -> str:
    """From this node, three rounds of datagrams naming it to every other listening node."""
    targets = []
    for other in listening:
        flannel = flannel_udp(inventory, other)
        if other != node and flannel:
            targets.append(shlex.quote(f"{other.node_ip}/{flannel[0]}"))
    if not targets:
        return "true\n"
    loop = (
        'for round in 1 2 3; do for target in "$@"; do '
        f'echo {shlex.quote(f"{PROBE_PAYLOAD} {node.name}")} > "/dev/udp/$target"; '
        "done 2>/dev/null; [ $round = 3 ] || sleep 0.1; done"
    )
    return f"bash -c {shlex.quote(loop)} _ {' '.join(targets)}\ntrue\n"


def udp_read_script(listener: dict[str, str]) -> str:
    """Print what the listener heard (or "gone": it ended before), then stop it."""
    path = shlex.quote(listener["file"])
    pid = listener["pid"] if listener.get("pid", "").isdigit() else ""
    stop = f"kill {pid} 2>/dev/null; " if pid else ""
    return f"cat {path} 2>/dev/null || echo gone; {stop}rm -f {path}; true\n"


def judge_udp(
    inventory: Inventory,
    node: Node,
    facts: dict[str, str],
    listener: dict[str, str],
    heard: str,
) -> list[Finding]:
    """Did this node's listener hear every other node? `listener` is what the listen script
    printed, `heard` what the read script printed."""
    flannel = flannel_udp(inventory, node)
    if flannel is None or len(inventory.nodes) < 2:
        return []
    port, label = flannel
    check = f"UDP {port}"
    skipped = udp_not_probed(inventory, node, facts)
    if skipped:
        return [Finding(node.name, check, Level.PASS, skipped)]
    state = listener.get("listener", "")
    if state != "listening":
        return [
            Finding(
                node.name,
                check,
                Level.WARN,
                f"not probed: no listener on {node.node_ip}:{port}/udp ({state or 'no answer'})",
                "python3 runs the listener (sudo apt-get install python3)"
                if "python3" in state
                else "",
            )
        ]
    lines = heard.splitlines()
    if "gone" in lines:
        return [
            Finding(
                node.name,
                check,
                Level.WARN,
                f"not probed: the listener ended before it was read ({LISTEN_SECONDS} s)",
                "run `sugang cluster check` again",
            )
        ]
    senders = {
        words[3]
        for words in (line.split() for line in lines)
        if len(words) == 4 and words[0] == "from" and words[2] == PROBE_PAYLOAD
    }
    opened = facts.get("ufw") == "active"
    found = [
        Finding(
            node.name,
            check,
            Level.WARN if opened else Level.FAIL,
            f"no UDP {port} from {peer.node_ip} ({peer.name}, {label})",
            UFW_OPENS.replace("there", "here")
            if opened
            else f"allow {port}/udp from {peer.node_ip} on {node.node_ip} (firewall or "
            "security group)",
        )
        for peer in inventory.nodes
        if peer != node and peer.name not in senders
    ]
    return found or [
        Finding(node.name, check, Level.PASS, f"{port}/udp ({label}) arrives from every other node")
    ]


# --- raw iptables rules (ufw's are `up`'s job) ---------------------------------------------
# Some images ship INPUT rules of their own: Oracle Cloud's Ubuntu ends INPUT with
# `-j REJECT --reject-with icmp-host-prohibited`, after ACCEPTs for ssh only.
PROTOCOL_NUMBERS = {"6": "tcp", "17": "udp"}


@dataclass(frozen=True)
class Rule:
    """One `-A INPUT` rule, as far as this reader follows it."""

    number: int  # its position in INPUT (iptables -I INPUT <number> goes before it)
    text: str
    target: str = ""
    protocol: str | None = None
    source: str | None = None
    interface: str | None = None
    ports: tuple[tuple[int, int], ...] | None = None  # destination ports; None: any
    source_port: bool = False
    states: frozenset[str] | None = None
    other: bool = False  # a condition not followed here (a negation, another match)


def parse_input_chain(text: str) -> tuple[str, list[Rule]]:
    """The INPUT policy and rules from `iptables -S INPUT`."""
    policy = "ACCEPT"
    rules: list[Rule] = []
    for line in text.splitlines():
        try:
            words = shlex.split(line)
        except ValueError:
            continue
        if words[:2] == ["-P", "INPUT"] and len(words) > 2:
            policy = words[2]
        elif words[:2] == ["-A", "INPUT"]:
            rules.append(_rule(len(rules) + 1, line.strip(), words[2:]))
    return policy, rules


def _rule(number: int, text: str, words: list[str]) -> Rule:
    target, protocol, source, interface = "", None, None, None
    ports: tuple[tuple[int, int], ...] | None = None
    states: frozenset[str] | None = None
    source_port = other = negated = False
    i = 0
    while i < len(words):
        word, value = words[i], words[i + 1] if i + 1 < len(words) else ""
        if word == "!":
            other = negated = True
            i += 1
            continue
        if word in {"-j", "--jump"}:
            target = value
        elif negated:
            pass  # "! -s X", "! -i lo": not followed (marked as other)
        elif word in {"-p", "--protocol"}:
            protocol = PROTOCOL_NUMBERS.get(value, value.lower())
        elif word in {"-s", "--source"}:
            source = value
        elif word in {"-i", "--in-interface"}:
            interface = value
        elif word in {"--dport", "--destination-port", "--dports", "--destination-ports"}:
            ports = _port_ranges(value)
            other = other or ports is None
        elif word in {"--sport", "--source-port", "--sports", "--source-ports"}:
            source_port = True
        elif word in {"--state", "--ctstate"}:
            states = frozenset(value.upper().split(","))
        elif word not in {"-m", "--match", "--comment", "--reject-with"}:
            # an option not followed here; its value, if any, is then skipped as a plain word
            other = other or word.startswith("-")
            i += 1
            continue
        negated = False
        i += 2
    return Rule(
        number, text, target, protocol, source, interface, ports, source_port, states, other
    )


def _port_ranges(value: str) -> tuple[tuple[int, int], ...] | None:
    try:
        return tuple(
            (int(first), int(last or first))
            for first, _, last in (part.partition(":") for part in value.split(","))
        )
    except ValueError:
        return None


def _applies(rule: Rule, protocol: str, port: int, source: str) -> bool | None:
    """Does the rule match a new connection from `source` to `port`/`protocol`? None: it may
    (a condition this reader does not follow)."""
    if rule.protocol not in {None, "all", protocol}:
        return False
    if rule.ports is not None and not any(first <= port <= last for first, last in rule.ports):
        return False
    if rule.interface == "lo" or rule.source_port:
        return False
    if rule.states is not None and "NEW" not in rule.states:
        return False  # ESTABLISHED,RELATED lets answers in, never a peer's first packet
    maybe = rule.other or rule.interface is not None
    if rule.source:
        try:
            if ipaddress.ip_address(source) not in ipaddress.ip_network(rule.source, strict=False):
                return False
        except ValueError:
            maybe = True
    return None if maybe else True


def _blocker(policy: str, rules: list[Rule], protocol: str, port: int, source: str) -> Rule | str:
    """The rule that turns the connection away, "policy" for the chain's policy, or "" when it
    gets in. A rule that may match is taken to accept, and not to reject: no failure on a
    guess."""
    for rule in rules:
        applies = _applies(rule, protocol, port, source)
        if rule.target == "ACCEPT" and applies is not False:
            return ""
        if rule.target in {"DROP", "REJECT"} and applies:
            return rule
    return "policy" if policy == "DROP" else ""


def needed_ports(inventory: Inventory, node: Node) -> list[tuple[str, tuple[int, int], list[str]]]:
    """(protocol, port range, sources) this node must let in: the ports plan._firewall opens
    in ufw, from the hosts that use them."""
    peers = [str(n.node_ip) for n in inventory.nodes if n != node]
    found = [("tcp", (10250, 10250), peers)]
    if node.role is Role.SERVER:
        lb = inventory.load_balancer
        found.append(("tcp", (API_PORT, API_PORT), peers + ([lb.source] if lb else [])))
        if inventory.cluster.ha:
            servers = [str(s.node_ip) for s in inventory.servers if s != node]
            found.append(("tcp", (ETCD_PORTS[0], ETCD_PORTS[-1]), servers))
    flannel = flannel_udp(inventory, node)
    if flannel:
        found.append(("udp", (flannel[0], flannel[0]), peers))
    return [(protocol, ports, sources) for protocol, ports, sources in found if sources]


def iptables_command(node: Node) -> str:
    return "ip6tables" if node.node_ip.version == 6 else "iptables"


def iptables_script(node: Node) -> str:
    """The INPUT chain of the node_ip's family; nothing when iptables is absent."""
    command = iptables_command(node)
    return f"command -v {command} >/dev/null && {command} -S INPUT 2>/dev/null; true\n"


def judge_iptables(
    inventory: Inventory, node: Node, facts: dict[str, str], rules_text: str
) -> list[Finding]:
    """Does INPUT let K3s's ports in from the hosts that use them? Read only when ufw is not
    active: with ufw on, `up` opens the ports in ufw."""
    if facts.get("ufw") == "active":
        return []
    command = iptables_command(node)
    check = f"firewall ({command})"
    if not rules_text.strip():
        return [Finding(node.name, check, Level.PASS, f"no {command} rules")]
    policy, rules = parse_input_chain(rules_text)
    shut: list[tuple[str, tuple[int, int], list[str], list[str]]] = []
    blockers: list[Rule | str] = []
    for protocol, (first, last), sources in needed_ports(inventory, node):
        turned_away = []
        for source in sources:
            found = [_blocker(policy, rules, protocol, p, source) for p in range(first, last + 1)]
            if any(found):
                turned_away.append(source)
                blockers += [b for b in found if b]
        if turned_away:
            shut.append((protocol, (first, last), sources, turned_away))
    if not shut:
        return [Finding(node.name, check, Level.PASS, f"{command} INPUT lets K3s's ports in")]
    rule_blockers = [b for b in blockers if isinstance(b, Rule)]
    first_rule = min(rule_blockers, key=lambda rule: rule.number) if rule_blockers else None
    by = (
        f"rule {first_rule.number} of INPUT (`{first_rule.text}`)"
        if first_rule
        else "the INPUT policy DROP"
    )
    items = [
        _port_label(protocol, ports) + ("" if away == sources else f" from {', '.join(away)}")
        for protocol, ports, sources, away in shut
    ]
    where = f"-I INPUT {first_rule.number}" if first_rule else "-A INPUT"
    groups: dict[tuple[str, tuple[str, ...]], list[tuple[int, int]]] = {}
    for protocol, ports, _, away in shut:
        groups.setdefault((protocol, tuple(away)), []).append(ports)
    commands = [
        f"sudo {command} {where} -p {protocol} -s {','.join(sources)} "
        + (
            f"--dport {_range(ranges[0])}"
            if len(ranges) == 1
            else f"-m multiport --dports {','.join(_range(r) for r in ranges)}"
        )
        + " -j ACCEPT"
        for (protocol, sources), ranges in groups.items()
    ]
    return [
        Finding(
            node.name,
            check,
            Level.FAIL,
            f"{by} turns away {', '.join(items)}; `sugang cluster up` does not change "
            f"{command} rules outside ufw",
            " && ".join([*commands, "sudo netfilter-persistent save"]),
        )
    ]


def _range(ports: tuple[int, int]) -> str:
    first, last = ports
    return str(first) if first == last else f"{first}:{last}"


def _port_label(protocol: str, ports: tuple[int, int]) -> str:
    return f"{_range(ports).replace(':', '-')}/{protocol}"


# --- the load balancer host --------------------------------------------------------------
LB_GATHER = r"""
echo "port_6443=$(ss -Hltnp 'sport = :6443' 2>/dev/null | tr '\n' ' ')"
command -v nginx >/dev/null && echo nginx=yes
command -v haproxy >/dev/null && echo haproxy=yes
if [ -e /usr/lib/nginx/modules/ngx_stream_module.so ] \
  || ls /etc/nginx/modules-enabled/*stream* >/dev/null 2>&1 \
  || nginx -V 2>&1 | grep -qE -- '--with-stream( |$)'; then echo nginx_stream=yes; fi
command -v apt-get >/dev/null && echo apt=yes
ls /var/lib/apt/lists/*_Packages >/dev/null 2>&1 && echo apt_lists=yes
apt-cache policy nginx libnginx-mod-stream haproxy 2>/dev/null \
  | awk '/^[^ ].*:$/ {package = substr($1, 1, length($1) - 1)}
         /Candidate:/ {print "candidate_" package "=" $2}'
true
"""


def judge_load_balancer(
    inventory: Inventory,
    facts: dict[str, str],
    probe_output: str,
    ufw_active: frozenset[str] = frozenset(),
) -> list[Finding]:
    """The host `up` turns into the load balancer: 6443 free for it, its software there or
    installable, and every server's API reachable from it."""
    lb = inventory.load_balancer
    assert lb is not None
    return [
        _lb_port(lb, facts.get("port_6443", "")),
        _lb_software(lb, facts),
        *judge_reachability(LOAD_BALANCER, lb.source, probe_output, ufw_active),
    ]


def _lb_port(lb: LoadBalancer, listening: str) -> Finding:
    check = f"port {API_PORT}"
    if not listening.strip():
        return Finding(LOAD_BALANCER, check, Level.PASS, "free")
    holders = sorted(set(re.findall(r'\(\("([^"]+)"', listening)))
    if holders == [lb.kind]:
        return Finding(
            LOAD_BALANCER,
            check,
            Level.PASS,
            f"held by {lb.kind}: the load balancer of an earlier `sugang cluster up`",
        )
    if holders and set(holders) <= {"nginx", "haproxy"}:
        return Finding(
            LOAD_BALANCER,
            check,
            Level.FAIL,
            f"held by {', '.join(holders)}, and the inventory says kind: {lb.kind}",
            f"set load_balancer.kind: {holders[0]}, or stop and disable {holders[0]}",
        )
    return Finding(
        LOAD_BALANCER,
        check,
        Level.FAIL,
        f"in use by {', '.join(holders) or 'a process ss does not name'}: {lb.kind} needs it",
        f"stop what listens there: sudo ss -ltnp 'sport = :{API_PORT}'",
    )


def _lb_software(lb: LoadBalancer, facts: dict[str, str]) -> Finding:
    if lb.kind == "nginx":
        missing = [] if facts.get("nginx") == "yes" else ["nginx"]
        missing += [] if facts.get("nginx_stream") == "yes" else ["libnginx-mod-stream"]
        ready = "nginx with its stream module is installed"
    else:
        missing = [] if facts.get("haproxy") == "yes" else ["haproxy"]
        ready = "haproxy is installed"
    if not missing:
        return Finding(LOAD_BALANCER, lb.kind, Level.PASS, ready)
    candidates = {p: facts.get(f"candidate_{p}", "") for p in missing}
    absent = [p for p, version in candidates.items() if version in {"", "(none)"}]
    names = " ".join(missing)
    if facts.get("apt") != "yes":
        return Finding(
            LOAD_BALANCER,
            lb.kind,
            Level.FAIL,
            f"{names} not installed, and there is no apt-get to install it",
            f"install {lb.kind} yourself (nginx with its stream module), or use an Ubuntu host",
        )
    if not absent:
        versions = ", ".join(f"{p} {v}" for p, v in candidates.items())
        return Finding(
            LOAD_BALANCER, lb.kind, Level.PASS, f"not installed; `up` installs {versions}"
        )
    if facts.get("apt_lists") != "yes":
        return Finding(
            LOAD_BALANCER,
            lb.kind,
            Level.WARN,
            f"{names} not installed, and apt's package lists are empty: cannot tell whether "
            "apt can install it (`up` runs apt-get update first)",
            f"sudo apt-get update && apt-cache policy {names}",
        )
    return Finding(
        LOAD_BALANCER,
        lb.kind,
        Level.FAIL,
        f"{' '.join(absent)} not installed, and apt has no candidate for it",
        f"enable the repository that has {' '.join(absent)} (Ubuntu: main) and run "
        f"sudo apt-get update, or install it yourself",
    )


def judge_uniqueness(inventory: Inventory, facts: dict[str, dict[str, str]]) -> list[Finding]:
    """Hostnames, MAC addresses and product_uuid must differ between nodes (clones of one VM
    image often share them)."""
    found = []
    for key, level, fix in (
        (
            "hostname",
            Level.WARN,
            "sugang sets --node-name, but give each machine its own: sudo hostnamectl "
            "set-hostname <name>",
        ),
        ("macs", Level.FAIL, "flannel needs distinct MACs: regenerate the clone's NICs"),
        (
            "product_uuid",
            Level.WARN,
            "a cloned VM: regenerate its UUID in the hypervisor",
        ),
    ):
        owners: dict[str, list[str]] = {}
        for node in inventory.nodes:
            for value in facts.get(node.name, {}).get(key, "").split():
                owners.setdefault(value, []).append(node.name)
        repeated = {value: names for value, names in owners.items() if len(names) > 1}
        label = {"macs": "MAC address", "product_uuid": "product_uuid"}.get(key, key)
        for node in inventory.nodes:
            shared = [v for v, names in repeated.items() if node.name in names]
            if shared:
                others = sorted({n for v in shared for n in repeated[v]} - {node.name})
                found.append(
                    Finding(
                        node.name,
                        f"unique {label}",
                        level,
                        f"{', '.join(shared)} also on {', '.join(others)}",
                        fix,
                    )
                )
            elif facts.get(node.name, {}).get(key):
                found.append(Finding(node.name, f"unique {label}", Level.PASS, "unique"))
    return found


def summary(findings: list[Finding]) -> Counter[Level]:
    return Counter(f.level for f in findings)
