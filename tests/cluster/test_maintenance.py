"""Day two's rules, pure: etcd's quorum on removal, the upgrade's order and version steps, the
drain command, the etcd snapshot settings and the nodes' cordon state as the API reports it."""

import pytest

from sugang.cluster.inventory import Inventory
from sugang.cluster.maintenance import (
    DrainOptions,
    drain_command,
    quorum_refusal,
    unfinished,
    upgrade_order,
    version_key,
)
from sugang.cluster.nodes import CORDONED_FOR, NodeStatus, node_status
from sugang.cluster.plan import HostFacts, PlanError
from sugang.cluster.render import k3s_config
from tests.cluster.test_plan import inventory, raw_inventory

OLD, NEW = "v1.34.1+k3s1", "v1.35.0+k3s1"


def member(name: str, ready: bool = True, etcd: bool = True) -> NodeStatus:
    roles = "control-plane,etcd,master" if etcd else "<none>"
    return NodeStatus(name, ready, roles, OLD, "10.0.0.1")


def test_removing_a_healthy_member_of_three_keeps_a_majority() -> None:
    nodes = [member("s1"), member("s2"), member("s3"), member("a1", etcd=False)]
    assert quorum_refusal(nodes, "s3") is None


def test_removing_a_healthy_member_while_another_is_down_is_refused() -> None:
    nodes = [member("s1"), member("s2", ready=False), member("s3")]
    refusal = quorum_refusal(nodes, "s3")
    assert refusal is not None
    assert "1 of them healthy (s1)" in refusal and "etcd needs 2" in refusal


def test_removing_the_member_that_is_down_is_allowed() -> None:
    nodes = [member("s1"), member("s2", ready=False), member("s3")]
    assert quorum_refusal(nodes, "s2") is None


def test_five_members_with_two_down_cannot_lose_a_third() -> None:
    nodes = [member("s1"), member("s2"), member("s3"), member("s4", False), member("s5", False)]
    assert quorum_refusal(nodes, "s1") is not None  # 4 left, 2 healthy: needs 3
    assert quorum_refusal(nodes, "s5") is None  # 4 left, 3 healthy


def test_the_last_member_and_agents() -> None:
    assert "last etcd member" in (quorum_refusal([member("s1")], "s1") or "")
    assert quorum_refusal([member("s1"), member("a1", etcd=False)], "a1") is None


def ha() -> Inventory:
    return inventory(servers=3, agents=2, cluster={"ha": True})


def running(version: str, **others: str | None) -> dict[str, str | None]:
    return dict.fromkeys(("s1", "s2", "s3", "a1", "a2"), version) | others


def test_upgrade_takes_the_first_server_then_the_others_then_the_agents() -> None:
    order = upgrade_order(ha(), running(OLD), NEW)
    assert [n.name for n in order] == ["s1", "s2", "s3", "a1", "a2"]


def test_upgrade_skips_nodes_at_the_version_unless_their_last_install_failed() -> None:
    inv = ha()
    order = upgrade_order(inv, running(NEW, s2=OLD, a1=OLD), NEW)
    assert [n.name for n in order] == ["s2", "a1"]
    order = upgrade_order(inv, running(NEW), NEW, frozenset({"a2"}))
    assert [n.name for n in order] == ["a2"]


def test_upgrade_refuses_a_skipped_minor_and_names_the_step() -> None:
    with pytest.raises(PlanError, match=r"a1 runs v1.33.5\+k3s1.*latest v1.34.x first"):
        upgrade_order(ha(), running(OLD, a1="v1.33.5+k3s1"), NEW)


def test_upgrade_refuses_a_downgrade_and_a_node_without_k3s() -> None:
    with pytest.raises(PlanError) as refused:
        upgrade_order(ha(), running(NEW, s1=None), OLD)
    assert "s1: K3s is not installed" in str(refused.value)
    assert "s2 runs v1.35.0+k3s1, newer than v1.34.1+k3s1: no downgrades" in str(refused.value)


def test_upgrade_refuses_when_the_inventory_pins_another_release() -> None:
    pinned = inventory(servers=1, cluster={"k3s_version": OLD})
    with pytest.raises(PlanError, match="set it to v1.35.0"):
        upgrade_order(pinned, {"s1": OLD}, NEW)
    patch_release = upgrade_order(pinned, {"s1": "v1.34.0+k3s1"}, OLD)
    assert [n.name for n in patch_release] == ["s1"]


def test_versions_compare_by_number_and_a_malformed_one_is_refused() -> None:
    assert version_key("v1.34.10+k3s1") > version_key("v1.34.9+k3s2")
    assert version_key("v1.34.1+k3s2") > version_key("v1.34.1+k3s1")
    with pytest.raises(PlanError, match="is not a K3s release"):
        version_key("1.34")


def test_drain_flags() -> None:
    plain = drain_command("a1", DrainOptions(timeout=120))
    assert plain == (
        "k3s kubectl drain a1 --ignore-daemonsets --delete-emptydir-data --timeout=120s"
    )
    forced = drain_command("a1", DrainOptions(force=True), node_ready=False)
    assert forced.endswith("--force --skip-wait-for-delete-timeout=30")


def test_etcd_snapshot_settings_reach_every_server_and_need_ha() -> None:
    inv = inventory(
        servers=3,
        agents=1,
        cluster={
            "ha": True,
            "etcd_snapshot_schedule_cron": "0 */6 * * *",
            "etcd_snapshot_retention": 10,
        },
    )
    for server in inv.servers:
        config = k3s_config(inv, server, "K10token")
        assert config["etcd-snapshot-schedule-cron"] == "0 */6 * * *"
        assert config["etcd-snapshot-retention"] == 10
    assert "etcd-snapshot-retention" not in k3s_config(inv, inv.agents[0], "K10token")
    with pytest.raises(ValueError, match="etcd snapshots need ha: true"):
        Inventory.model_validate(raw_inventory(1, cluster={"etcd_snapshot_retention": 3}))


def test_a_cordoned_node_and_the_mark_sugang_left_are_read_from_the_api() -> None:
    item = {
        "metadata": {
            "name": "a1",
            "labels": {},
            "annotations": {CORDONED_FOR: "upgrade"},
        },
        "spec": {"unschedulable": True},
        "status": {"conditions": [{"type": "Ready", "status": "True"}]},
    }
    status = node_status(item)
    assert status.unschedulable and status.cordoned_for == "upgrade" and not status.etcd
    assert not node_status({"metadata": {"name": "s1", "labels": {}}}).unschedulable


def test_a_node_is_done_only_when_the_cluster_sees_it_ready_at_the_version() -> None:
    facts = {
        "s1": HostFacts(k3s_version=NEW),
        "s2": HostFacts(k3s_version=NEW),  # new binary, yet the node never came back
        "a1": HostFacts(k3s_version=NEW, install_failed=True),
        "a2": HostFacts(k3s_version=NEW),
    }
    seen = [
        NodeStatus("s1", True, "etcd", NEW, "10.0.0.11"),
        NodeStatus("s2", False, "etcd", OLD, "10.0.0.12"),
        NodeStatus("a1", True, "<none>", NEW, "10.0.0.21"),
    ]
    assert unfinished(facts, seen, NEW) == {"s2", "a1", "a2"}  # a2: not in the cluster
    inv = inventory(servers=1, agents=1)
    order = upgrade_order(inv, {"s1": NEW, "a1": NEW}, NEW, frozenset({"a1"}))
    assert [n.name for n in order] == ["a1"]
