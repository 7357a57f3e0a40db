"""Three "nodes" on one machine: each a network namespace with its own address on a bridge,
as a K3s node is a machine on a network. A node's link can be cut (as a node vanishes from
the network) and made to lose packets (iptables' statistic match: this kernel has no netem,
so delay cannot be added)."""

import os
import shutil
import subprocess
import uuid
from dataclasses import dataclass, field

from sugang.bench.chaos.processes import ChaosError


def sh(*command: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        raise ChaosError(f"{' '.join(command)}: {result.stderr.strip()}")
    return result


@dataclass(frozen=True)
class Node:
    name: str
    address: str
    netns: str
    veth: str  # its link, on the bridge's side

    def command(self, *argv: str) -> list[str]:
        """`argv` run inside the node's network namespace."""
        return ["ip", "netns", "exec", self.netns, *argv]


@dataclass
class Network:
    count: int = 3
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:5])
    nodes: list[Node] = field(default_factory=list)
    subnet: int = field(default_factory=lambda: 100 + os.getpid() % 100)
    created: bool = False

    @property
    def bridge(self) -> str:
        return f"sgc{self.tag}"

    @property
    def host_address(self) -> str:
        """The machine's own address on the bridge: where the databases listen."""
        return f"10.215.{self.subnet}.1"

    def create(self) -> "Network":
        if os.geteuid() != 0 or shutil.which("ip") is None:
            raise ChaosError("the chaos bench makes network namespaces: run it as root, with ip")
        sh("ip", "link", "add", self.bridge, "type", "bridge")
        self.created = True
        sh("ip", "addr", "add", f"{self.host_address}/24", "dev", self.bridge)
        sh("ip", "link", "set", self.bridge, "up")
        for number in range(1, self.count + 1):
            node = Node(
                name=f"node-{number}",
                address=f"10.215.{self.subnet}.{10 + number}",
                netns=f"sgc{self.tag}n{number}",
                veth=f"sgc{self.tag}v{number}",
            )
            sh("ip", "netns", "add", node.netns)
            sh("ip", "link", "add", node.veth, "type", "veth", "peer", "name", "eth0",
               "netns", node.netns)  # fmt: skip
            sh("ip", "link", "set", node.veth, "master", self.bridge, "up")
            sh("ip", "-n", node.netns, "addr", "add", f"{node.address}/24", "dev", "eth0")
            sh("ip", "-n", node.netns, "link", "set", "eth0", "up")
            sh("ip", "-n", node.netns, "link", "set", "lo", "up")
            self.nodes.append(node)
        return self

    def cut(self, node: Node) -> None:
        """The node's link down: nothing reaches it or leaves it, as a lost machine."""
        sh("ip", "link", "set", node.veth, "down")

    def restore(self, node: Node) -> None:
        sh("ip", "link", "set", node.veth, "up")

    def lose_packets(self, node: Node, probability: float) -> None:
        """Drop `probability` of the packets the node receives (iptables inside its
        namespace)."""
        if shutil.which("iptables") is None:
            raise ChaosError("packet loss needs iptables (apt-get install iptables)")
        sh(*node.command("iptables", "-A", "INPUT", "-m", "statistic", "--mode", "random",
                         "--probability", str(probability), "-j", "DROP"))  # fmt: skip

    def stop_losing(self, node: Node) -> None:
        sh(*node.command("iptables", "-F", "INPUT"), check=False)

    def remove(self) -> None:
        for node in self.nodes:
            sh("ip", "netns", "del", node.netns, check=False)
            sh("ip", "link", "del", node.veth, check=False)
        sh("ip", "link", "del", self.bridge, check=False)
