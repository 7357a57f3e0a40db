"""What `sugang cluster up` will do, host by host and in order, from the inventory and what
the hosts report (their facts). Pure: the same inventory and facts give the same plan, which
is how a second run knows there is nothing to do and a rerun continues where one stopped."""

import hashlib
import shlex
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from sugang.cluster.inventory import Inventory, Node, Role
from sugang.cluster.render import (
    HAPROXY_CONFIG,
    K3S_CONFIG,
    NGINX_INCLUDE,
    NGINX_MAIN_CONFIG,
    NGINX_STREAM_CONFIG,
    haproxy_config,
    k3s_config,
    nginx_stream,
    to_yaml,
)

K3S_BINARY = "/usr/local/bin/k3s"
INSTALL_SCRIPT = "/usr/local/bin/k3s-install.sh"
LOAD_BALANCER = "load-balancer"
# left on a node whose install failed: the next run installs again. The config stays where it
# is: a unit that restarts meanwhile (Restart=always) must not come up without it, as a
# standalone server
FAILED_MARK = "/etc/rancher/k3s/sugang-install-failed"
# apt on a fresh cloud image: unattended-upgrades may hold dpkg's lock for minutes
APT = "apt-get -o DPkg::Lock::Timeout=600"
APT_FAILED = (
    "echo 'apt-get failed. If it waited 10 minutes for the dpkg lock, another apt or "
    "unattended-upgrades still runs (systemctl status unattended-upgrades): wait for it and run "
    "`sugang cluster up` again' >&2; exit 1"
)
# Stands in for the join token in a plan made before the first server exists; `up` plans
# again once it has read the real one.
TOKEN_PLACEHOLDER = "<the join token, read from the first server>"
# flannel's UDP port between nodes, by backend: (IPv4 node_ips, IPv6 node_ips, what it is);
# host-gw and none send no UDP of their own
FLANNEL_UDP = {"vxlan": (8472, 8472, "VXLAN"), "wireguard-native": (51820, 51821, "WireGuard")}


class Action(StrEnum):
    INSTALL = "install K3s"
    WAIT_API = "wait for the API"
    READ_TOKEN = "read the join token"
    FIREWALL = "open the firewall"
    LOAD_BALANCER = "configure the load balancer"
    KUBECONFIG = "fetch the kubeconfig"
    NODES = "list the nodes"


@dataclass(frozen=True)
class HostFacts:
    """What a host reports before anything is changed."""

    k3s_version: str | None = None
    installed_as: Role | None = None
    install_failed: bool = False  # the last install on it failed (FAILED_MARK)
    config_sha256: str | None = None
    binary_sha256: str | None = None
    ufw_active: bool = False
    lb_config_sha256: str | None = None
    lb_installed: bool = False
    nginx_includes_stream: bool = False
    nginx_has_stream: bool = False


@dataclass(frozen=True)
class FileWrite:
    path: str
    content: str
    mode: str = "0644"
    secret: bool = False


@dataclass(frozen=True)
class Upload:
    local: Path
    remote: str
    mode: str = "0755"


@dataclass(frozen=True)
class Step:
    host: str
    action: Action
    why: str
    files: tuple[FileWrite, ...] = ()
    uploads: tuple[Upload, ...] = ()
    commands: tuple[str, ...] = ()
    changes: bool = True


@dataclass
class Plan:
    """Stages run in order; the steps of a stage marked parallel run at the same time."""

    stages: list[tuple[str, bool, list[Step]]] = field(default_factory=list)

    def add(self, stage: str, steps: list[Step], parallel: bool = False) -> None:
        if steps:
            self.stages.append((stage, parallel, steps))

    @property
    def steps(self) -> list[Step]:
        return [step for _, _, steps in self.stages for step in steps]

    @property
    def changes(self) -> list[Step]:
        return [step for step in self.steps if step.changes]


def sha256(data: bytes | str) -> str:
    return hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def plan_up(
    inventory: Inventory,
    facts: dict[str, HostFacts],
    token: str | None,
    binary_sha256: str | None = None,
) -> Plan:
    """The steps of `up`. `token` is the first server's join token when it already runs
    (read before planning, never printed); joiners' configs need it."""
    plan = Plan()
    first = inventory.first_server
    # a channel resolves to the release of the day: every node after the first runs the
    # version the first server runs, so a node added later does not get a newer one
    pinned = inventory.cluster.k3s_version or facts[first.name].k3s_version
    newer = []
    for node in inventory.nodes:
        running = facts[node.name].k3s_version
        if pinned and running and minor(running) > minor(pinned):
            newer.append(node.name)
    if newer and not inventory.cluster.airgap:
        raise PlanError(
            f"{', '.join(newer)} run a newer K3s minor than {pinned} (the first server's or "
            "k3s_version): a node may not be newer than the servers; uninstall K3s there, or "
            "upgrade the cluster first (servers first)"
        )
    # before anything joins: with ufw denying incoming traffic, no join would get through
    plan.add(
        "firewall",
        [_firewall(inventory, n) for n in inventory.nodes if facts[n.name].ufw_active],
        parallel=True,
    )
    plan.add(
        "first server",
        [
            install_step(inventory, first, facts[first.name], token, binary_sha256, None),
            _wait_api(first.name),
            Step(
                first.name,
                Action.READ_TOKEN,
                "joining nodes need it (it is never printed)",
                commands=("cat /var/lib/rancher/k3s/server/node-token",),
                changes=False,
            ),
        ],
    )
    others = [s for s in inventory.servers if s != first]
    # one at a time, each answering /readyz before the next: a restart for a new config must
    # not take two members of etcd's quorum at once
    servers: list[Step] = []
    for server in others:
        install = install_step(inventory, server, facts[server.name], token, binary_sha256, pinned)
        servers.append(install)
        if install.changes:
            servers.append(_wait_api(server.name))
    plan.add("servers", servers)
    if inventory.load_balancer:
        plan.add("load balancer", _load_balancer(inventory, facts[LOAD_BALANCER]))
    plan.add(
        "agents",
        [
            install_step(inventory, a, facts[a.name], token, binary_sha256, pinned)
            for a in inventory.agents
        ],
        parallel=True,
    )
    plan.add(
        "kubeconfig",
        [
            Step(
                first.name,
                Action.KUBECONFIG,
                f"server set to {inventory.kubeconfig_url}, context {inventory.cluster.name!r}",
                commands=("cat /etc/rancher/k3s/k3s.yaml",),
                changes=False,
            ),
            Step(
                first.name,
                Action.NODES,
                "every node registered and ready",
                commands=("k3s kubectl get nodes -o json",),
                changes=False,
            ),
        ],
    )
    return plan


class PlanError(Exception):
    """The hosts are in a state `up` must not change on its own."""


def minor(version: str) -> tuple[int, int]:
    """(1, 34) of "v1.34.1+k3s1"."""
    major, minor = version.lstrip("v").split(".")[:2]
    return int(major), int(minor)


def _wait_api(host: str) -> Step:
    return Step(
        host,
        Action.WAIT_API,
        "the API answers /readyz",
        commands=("k3s kubectl get --raw=/readyz",),
        changes=False,
    )


def install_step(
    inventory: Inventory,
    node: Node,
    facts: HostFacts,
    token: str | None,
    binary_sha256: str | None,
    pinned: str | None,
) -> Step:
    role = node.role
    needs_token = not (role is Role.SERVER and node == inventory.first_server)
    waiting_for_token = needs_token and token is None
    content = to_yaml(
        k3s_config(inventory, node, TOKEN_PLACEHOLDER if waiting_for_token else token)
    )
    reasons = []
    config_changed = False
    if facts.installed_as is None:
        reasons.append("K3s is not installed")
    elif facts.install_failed:
        reasons.append("the last install failed")
    elif facts.installed_as is not role:
        reasons.append(f"installed as {facts.installed_as}, the inventory says {role}")
    elif waiting_for_token or facts.config_sha256 != sha256(content):
        reasons.append(f"{K3S_CONFIG} differs")
        config_changed = True
    uploads: list[Upload] = []
    options = inventory.cluster
    if options.airgap:
        if facts.binary_sha256 != binary_sha256:
            uploads.append(Upload(options.airgap.k3s_binary, K3S_BINARY))
            if facts.installed_as is not None:
                reasons.append("the k3s binary differs")
        if reasons:
            uploads.append(Upload(options.airgap.install_script, INSTALL_SCRIPT))
        install = f"INSTALL_K3S_SKIP_DOWNLOAD=true INSTALL_K3S_EXEC={role} sh {INSTALL_SCRIPT}"
    else:
        version = options.k3s_version or pinned
        if options.k3s_version and facts.k3s_version != options.k3s_version:
            reasons.append(f"K3s {facts.k3s_version or 'absent'}, wanted {options.k3s_version}")
        pin = (
            f"INSTALL_K3S_VERSION={shlex.quote(version)}"
            if version
            else f"INSTALL_K3S_CHANNEL={shlex.quote(options.channel)}"
        )
        # downloaded first: a failed download must fail the step, not feed sh an empty script
        install = (
            f"curl -sfL https://get.k3s.io -o {INSTALL_SCRIPT} && "
            f"{pin} INSTALL_K3S_EXEC={role} sh {INSTALL_SCRIPT}"
        )
    if not reasons:
        return Step(node.name, Action.INSTALL, "up to date", changes=False)
    if config_changed:
        # install.sh restarts K3s only when the binary, the unit or its env file changed, and
        # config.yaml is none of them ("No change detected so skipping service start")
        install = install.replace(
            "INSTALL_K3S_EXEC=", "INSTALL_K3S_FORCE_RESTART=true INSTALL_K3S_EXEC="
        )
        reasons[-1] += ": K3s restarts to read it"
    commands = [install, f"rm -f {FAILED_MARK}"]
    if facts.installed_as is not None and facts.installed_as is not role:
        old = "k3s-agent-uninstall.sh" if facts.installed_as is Role.AGENT else "k3s-uninstall.sh"
        commands.insert(0, f"/usr/local/bin/{old}")
    config = FileWrite(K3S_CONFIG, content, mode="0600", secret=needs_token)
    return Step(
        node.name,
        Action.INSTALL,
        "; ".join(reasons),
        files=(config,),
        uploads=tuple(uploads),
        commands=tuple(commands),
    )


def _load_balancer(inventory: Inventory, facts: HostFacts) -> list[Step]:
    lb = inventory.load_balancer
    assert lb is not None
    if lb.kind == "nginx":
        content, path = nginx_stream(inventory), NGINX_STREAM_CONFIG
        package = "nginx libnginx-mod-stream"
        commands = [] if facts.nginx_includes_stream else [_append_include()]
        commands += ["nginx -t", _reload("nginx")]
    else:
        content, path = haproxy_config(inventory), HAPROXY_CONFIG
        package = "haproxy"
        commands = [f"haproxy -c -f {HAPROXY_CONFIG}", _reload("haproxy")]
    ready = facts.lb_installed and (
        lb.kind == "haproxy" or (facts.nginx_has_stream and facts.nginx_includes_stream)
    )
    if ready and facts.lb_config_sha256 == sha256(content):
        return [Step(LOAD_BALANCER, Action.LOAD_BALANCER, "up to date", changes=False)]
    if not facts.lb_installed or (lb.kind == "nginx" and not facts.nginx_has_stream):
        # a fresh image's package lists may be empty or stale: update first
        commands.insert(
            0,
            f"export DEBIAN_FRONTEND=noninteractive; {{ {APT} update -q && "
            f"{APT} install -y -q {package}; }} || {{ {APT_FAILED}; }}",
        )
    return [
        Step(
            LOAD_BALANCER,
            Action.LOAD_BALANCER,
            f"{lb.kind} on {lb.endpoint}:6443 in front of {len(inventory.servers)} servers",
            files=(FileWrite(path, content),),
            commands=tuple(commands),
        )
    ]


def _append_include() -> str:
    return (
        f"grep -qxF {shlex.quote(NGINX_INCLUDE)} {NGINX_MAIN_CONFIG} || "
        f"echo {shlex.quote(NGINX_INCLUDE)} >> {NGINX_MAIN_CONFIG}"
    )


def _reload(service: str) -> str:
    """systemd's reload where systemd runs; otherwise the daemon's own signal or a start."""
    control = "nginx -s reload" if service == "nginx" else "kill -USR2 $(cat /run/haproxy.pid)"
    start = (
        "nginx"
        if service == "nginx"
        else "haproxy -D -f /etc/haproxy/haproxy.cfg -p /run/haproxy.pid"
    )
    return (
        f"if systemctl is-system-running >/dev/null 2>&1 || [ -d /run/systemd/system ]; then "
        f"systemctl enable --now {service} && systemctl reload {service}; "
        f"elif [ -s /run/{service}.pid ] && kill -0 $(cat /run/{service}.pid) 2>/dev/null; then "
        f"{control}; else {start}; fi"
    )


def _firewall(inventory: Inventory, node: Node) -> Step:
    """ufw rules for K3s from the other nodes only (and the load balancer to the servers' API,
    and the pod and service networks, as K3s's docs ask for when ufw is on)."""
    peers = sorted({str(n.node_ip) for n in inventory.nodes} - {str(node.node_ip)})
    ports = ["10250/tcp"]
    if node.role is Role.SERVER:
        ports.append("6443/tcp")
        if inventory.cluster.ha:
            ports.append("2379:2380/tcp")
    if flannel := FLANNEL_UDP.get(inventory.cluster.flannel_backend):
        ports += [f"{port}/udp" for port in dict.fromkeys(flannel[:2])]
    sources = list(peers)
    if node.role is Role.SERVER and inventory.load_balancer:
        sources.append(inventory.load_balancer.source)
    rules = [
        f"ufw allow from {source} to any port {port.split('/')[0]} proto {port.split('/')[1]}"
        for source in dict.fromkeys(sources)
        for port in (ports if source in peers else ["6443/tcp"])
    ]
    rules += ["ufw allow from 10.42.0.0/16 to any", "ufw allow from 10.43.0.0/16 to any"]
    # ufw skips rules it already has, so this step changes nothing on a second run
    return Step(node.name, Action.FIREWALL, "ufw is active", commands=tuple(rules), changes=False)
