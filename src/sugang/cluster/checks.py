"""Preflight (`sugang cluster check`): what each node reports, judged against what K3s needs.
Gathering is one shell script per node plus one reachability probe per node; judging is pure."""

import shlex
from collections import Counter
from dataclasses import dataclass
from enum import StrEnum

from sugang.cluster.inventory import API_PORT, Inventory, Node, Role

# K3s's documented minimums (docs.k3s.io/installation/requirements)
MIN_CPUS = {Role.SERVER: 2, Role.AGENT: 1}
MIN_MEMORY_MIB = {Role.SERVER: 2048, Role.AGENT: 512}
ARCHES = {"x86_64", "aarch64", "armv7l", "s390x"}
TCP_PORTS = {Role.SERVER: [API_PORT, 10250], Role.AGENT: [10250]}
ETCD_PORTS = [2379, 2380]
FLANNEL_VXLAN = 8472

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
    """The ports this node must reach on the others."""
    found = []
    for other in inventory.nodes:
        if other == node:
            continue
        ports = list(TCP_PORTS[other.role])
        if inventory.cluster.ha and node.role is Role.SERVER and other.role is Role.SERVER:
            ports += ETCD_PORTS
        found += [(str(other.node_ip), port) for port in ports]
    return found


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
    found += _ports_free(node, facts)
    ufw = facts.get("ufw", "")
    add(
        "firewall",
        Level.WARN if ufw == "active" else Level.PASS,
        f"ufw {ufw}" if ufw else "no ufw",
        "sugang cluster up adds the K3s rules to ufw" if ufw == "active" else "",
    )
    return found


def _ports_free(node: Node, facts: dict[str, str]) -> list[Finding]:
    if facts.get("k3s") == "yes":
        return [Finding(node.name, "ports", Level.PASS, "K3s is installed and holds its ports")]
    tcp = set(facts.get("tcp_listening", "").split())
    udp = set(facts.get("udp_listening", "").split())
    wanted_tcp = TCP_PORTS[node.role] + (ETCD_PORTS if node.role is Role.SERVER else [])
    taken = [f"{p}/tcp" for p in wanted_tcp if str(p) in tcp]
    taken += [f"{FLANNEL_VXLAN}/udp"] if str(FLANNEL_VXLAN) in udp else []
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


def judge_reachability(node: Node, probe_output: str) -> list[Finding]:
    found = []
    for line in probe_output.splitlines():
        parts = line.split()
        if len(parts) != 3:
            continue
        address, port, result = parts
        if result in {"open", "refused"}:
            continue
        found.append(
            Finding(
                node.name,
                "reachability",
                Level.FAIL,
                f"cannot reach {address}:{port}/tcp ({result})",
                f"allow {port}/tcp from {node.node_ip} on {address} (firewall or security group)",
            )
        )
    if not found:
        found.append(Finding(node.name, "reachability", Level.PASS, "reaches the other nodes"))
    return found


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
