"""What the hosts are now: K3s's version, role, config and binary on each node, the load
balancer's state, and the join token, read over SSH; and the plan from them."""

from sugang.cluster.checks import key_values
from sugang.cluster.inventory import Inventory, Role
from sugang.cluster.plan import FAILED_MARK, LOAD_BALANCER, HostFacts, Plan, file_sha256, plan_up
from sugang.cluster.render import (
    HAPROXY_CONFIG,
    K3S_CONFIG,
    NGINX_INCLUDE,
    NGINX_MAIN_CONFIG,
    NGINX_STREAM_CONFIG,
    NODE_TOKEN,
)
from sugang.cluster.ssh import Host, gather_all

FACTS = f"""
echo "version=$(/usr/local/bin/k3s --version 2>/dev/null | head -n1 | cut -d' ' -f3)"
if [ -x /usr/local/bin/k3s-uninstall.sh ]; then echo role=server;
elif [ -x /usr/local/bin/k3s-agent-uninstall.sh ]; then echo role=agent; fi
echo "config=$(sha256sum {K3S_CONFIG} 2>/dev/null | cut -d' ' -f1)"
echo "binary=$(sha256sum /usr/local/bin/k3s 2>/dev/null | cut -d' ' -f1)"
[ -e {FAILED_MARK} ] && echo failed=yes
if command -v ufw >/dev/null && ufw status 2>/dev/null | grep -q '^Status: active'; then
  echo ufw=active; fi
"""

LB_FACTS = {
    "nginx": f"""
command -v nginx >/dev/null && echo installed=yes
echo "config=$(sha256sum {NGINX_STREAM_CONFIG} 2>/dev/null | cut -d' ' -f1)"
grep -qxF '{NGINX_INCLUDE}' {NGINX_MAIN_CONFIG} 2>/dev/null && echo included=yes
if ls /etc/nginx/modules-enabled/*stream* >/dev/null 2>&1 \
  || nginx -V 2>&1 | grep -qE -- '--with-stream( |$)'; then echo stream=yes; fi
true
""",
    "haproxy": f"""
command -v haproxy >/dev/null && echo installed=yes
echo "config=$(sha256sum {HAPROXY_CONFIG} 2>/dev/null | cut -d' ' -f1)"
true
""",
}


async def node_facts(host: Host) -> HostFacts:
    found = key_values((await host.run(FACTS, step="read the host's state")).stdout)
    return HostFacts(
        k3s_version=found.get("version") or None,
        installed_as=Role(found["role"]) if found.get("role") else None,
        config_sha256=found.get("config") or None,
        binary_sha256=found.get("binary") or None,
        install_failed=found.get("failed") == "yes",
        ufw_active=found.get("ufw") == "active",
    )


async def lb_facts(host: Host, kind: str) -> HostFacts:
    found = key_values((await host.run(LB_FACTS[kind], step="read the host's state")).stdout)
    return HostFacts(
        lb_installed=found.get("installed") == "yes",
        lb_config_sha256=found.get("config") or None,
        nginx_includes_stream=found.get("included") == "yes",
        nginx_has_stream=found.get("stream") == "yes",
    )


async def nodes_facts(inventory: Inventory, hosts: dict[str, Host]) -> dict[str, HostFacts]:
    names = [n.name for n in inventory.nodes]
    found = await gather_all([node_facts(hosts[name]) for name in names])
    return dict(zip(names, found, strict=True))


async def gather(inventory: Inventory, hosts: dict[str, Host]) -> dict[str, HostFacts]:
    found = await nodes_facts(inventory, hosts)
    if inventory.load_balancer:
        found[LOAD_BALANCER] = await lb_facts(hosts[LOAD_BALANCER], inventory.load_balancer.kind)
    return found


async def read_token(host: Host) -> str | None:
    token = await host.read(NODE_TOKEN)
    return token.strip() if token and token.strip() else None


async def current_plan(inventory: Inventory, hosts: dict[str, Host]) -> tuple[Plan, str | None]:
    """The plan from the hosts' state now, with the token if the first server has one."""
    facts = await gather(inventory, hosts)
    token = None
    if facts[inventory.first_server.name].installed_as is Role.SERVER:
        token = await read_token(hosts[inventory.first_server.name])
    airgap = inventory.cluster.airgap
    binary = file_sha256(airgap.k3s_binary) if airgap else None
    return plan_up(inventory, facts, token, binary), token
