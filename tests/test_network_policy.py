"""The rendered NetworkPolicy and monitoring of every answer set, against the answers.

Ingress: the platform gateway, the ingress controller and Prometheus (``monitoring_namespace``)
only. Egress: DNS, MLflow and the artifact store by the namespace and pod labels of the
answers, and ``egress_cidrs`` with the non-public ranges excepted as Python's ``ipaddress``
computes them (link-local always, the private ranges unless ``egress_private_allowed``).
Scraping: the server pods carry the Prometheus annotations, and the optional ServiceMonitor
selects the Service by its port name. Broken variants show that the checks catch them.
"""

from __future__ import annotations

import copy
import ipaddress
from urllib.parse import urlsplit

import pytest
from baking import import_hook_module
from gitops import crds, policy
from gitops.repos import ANSWER_SETS, answers, rendered

net = import_hook_module("network_rules")
SETS = list(ANSWER_SETS)


def _one(docs, kind: str) -> dict:
    [doc] = [d for d in docs if d["kind"] == kind]
    return doc


def _labels(pairs: str) -> dict[str, str]:
    return dict(pair.split("=", 1) for pair in pairs.split(",")) if pairs else {}


def _mlflow_port(uri: str) -> int:
    parts = urlsplit(uri)
    return parts.port or (443 if parts.scheme == "https" else 80)


def _peer_namespace(peer: dict) -> str | None:
    return (
        peer.get("namespaceSelector", {}).get("matchLabels", {}).get("kubernetes.io/metadata.name")
    )


def expected_ip_blocks(given: dict[str, str]) -> list[dict]:
    """The ipBlocks the answers call for, computed with ``ipaddress``."""
    blocks = []
    excluded = [net.LINK_LOCAL]
    if given["egress_private_allowed"] != "true":
        excluded = [*net.NOT_PUBLIC, net.LINK_LOCAL]
    for network in net.egress_networks(given["egress_cidrs"]):
        inside = sorted((str(r) for r in excluded if r.subnet_of(network)), key=str)
        blocks.append({"cidr": str(network), **({"except": inside} if inside else {})})
    return blocks


def policy_problems(docs: list[dict], given: dict[str, str]) -> list[str]:
    """How the NetworkPolicy differs from what the answers allow (empty when it matches)."""
    spec = _one(docs, "NetworkPolicy")["spec"]
    problems = []
    if sorted(spec["policyTypes"]) != ["Egress", "Ingress"]:
        problems.append("not both policy types")
    sources = {_peer_namespace(p) for rule in spec["ingress"] for p in rule["from"]}
    if sources != {"modelship", "ingress-nginx", given["monitoring_namespace"]}:
        problems.append(f"ingress from {sorted(map(str, sources))}")
    egress = spec["egress"]
    if not all(rule.get("to") and rule.get("ports") for rule in egress):
        problems.append("an egress rule without peers or ports allows too much")
    selected = {}
    blocks, outside_ports = [], set()
    for rule in egress:
        ports = {(p["port"], p["protocol"]) for p in rule["ports"]}
        for peer in rule["to"]:
            if "ipBlock" in peer:
                blocks.append(peer["ipBlock"])
                outside_ports |= ports
            else:
                labels = peer.get("podSelector", {}).get("matchLabels", {})
                key = (_peer_namespace(peer), tuple(sorted(labels.items())))
                selected[key] = selected.get(key, set()) | ports
    wanted = {("kube-system", (("k8s-app", "kube-dns"),)): {(53, "UDP"), (53, "TCP")}}
    port = _mlflow_port(given["mlflow_tracking_uri"])
    if given["mlflow_namespace"]:
        key = (
            given["mlflow_namespace"],
            tuple(sorted(_labels(given["mlflow_pod_labels"]).items())),
        )
        wanted[key] = wanted.get(key, set()) | {(port, "TCP")}
    if given["artifact_store_namespace"]:
        labels = _labels(given["artifact_store_pod_labels"])
        key = (given["artifact_store_namespace"], tuple(sorted(labels.items())))
        wanted[key] = wanted.get(key, set()) | {(int(given["artifact_store_port"]), "TCP")}
    if selected != wanted:
        problems.append(f"egress to {selected}, expected {wanted}")
    normalised = [{**b, "except": sorted(b["except"])} if "except" in b else b for b in blocks]
    if normalised != expected_ip_blocks(given):
        problems.append(f"ipBlocks {blocks}, expected {expected_ip_blocks(given)}")
    if blocks:
        expected_ports = {(443, "TCP")} | (set() if given["mlflow_namespace"] else {(port, "TCP")})
        if outside_ports != expected_ports:
            problems.append(f"outside ports {outside_ports}, expected {expected_ports}")
    return problems


@pytest.mark.parametrize("name", SETS)
def test_network_policy_follows_the_answers(name: str) -> None:
    assert policy_problems(list(rendered(name)), answers(name)) == []


@pytest.mark.parametrize("name", SETS)
def test_outside_addresses_are_public_unless_allowed(name: str) -> None:
    given = answers(name)
    for block in expected_ip_blocks(given):
        network = ipaddress.ip_network(block["cidr"])
        excepted = [ipaddress.ip_network(e) for e in block.get("except", [])]
        if network.overlaps(net.LINK_LOCAL):
            assert net.LINK_LOCAL in excepted
        if given["egress_private_allowed"] != "true":
            for private in net.NOT_PUBLIC:
                assert not network.subnet_of(private)
                assert not network.overlaps(private) or private in excepted


@pytest.mark.parametrize("name", SETS)
def test_prometheus_scrapes_the_server_pods(name: str) -> None:
    docs = list(rendered(name))
    deployment = _one(docs, "Deployment")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/path"] == "/metrics"
    assert int(annotations["prometheus.io/port"]) in {
        p["containerPort"] for p in container["ports"]
    }
    monitors = [d for d in docs if d["kind"] == "ServiceMonitor"]
    assert len(monitors) == (answers(name)["service_monitor"] == "true")
    service = _one(docs, "Service")
    for monitor in monitors:
        selector = monitor["spec"]["selector"]["matchLabels"]
        assert selector.items() <= service["metadata"]["labels"].items()
        ports = {p["name"] for p in service["spec"]["ports"]}
        assert [e["port"] for e in monitor["spec"]["endpoints"]] == ["http"]
        assert "http" in ports
        assert monitor["spec"]["endpoints"][0]["path"] == "/metrics"
        assert monitor["metadata"]["namespace"] == answers(name)["namespace"]
    assert policy.selector_violations(docs) == []


def _open_egress(docs: list[dict]) -> None:
    _one(docs, "NetworkPolicy")["spec"]["egress"].append(
        {"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}], "ports": [{"port": 443, "protocol": "TCP"}]}
    )


def _metadata_reachable(docs: list[dict]) -> None:
    for rule in _one(docs, "NetworkPolicy")["spec"]["egress"]:
        for peer in rule["to"]:
            if "169.254.0.0/16" in peer.get("ipBlock", {}).get("except", []):
                peer["ipBlock"]["except"].remove("169.254.0.0/16")


def _any_pod_of_mlflow(docs: list[dict]) -> None:
    for rule in _one(docs, "NetworkPolicy")["spec"]["egress"]:
        for peer in rule["to"]:
            if _peer_namespace(peer) == "tracking":
                del peer["podSelector"]


def _no_prometheus(docs: list[dict]) -> None:
    _one(docs, "NetworkPolicy")["spec"]["ingress"].pop()


@pytest.mark.parametrize(
    ("name", "break_it", "expected"),
    [
        ("everything-on", _open_egress, "ipBlocks"),
        ("everything-on", _metadata_reachable, "ipBlocks"),
        ("batch-and-ingress", _any_pod_of_mlflow, "egress to"),
        ("defaults", _no_prometheus, "ingress from"),
    ],
)
def test_broken_policies_are_caught(name: str, break_it, expected: str) -> None:
    docs = copy.deepcopy(list(rendered(name)))
    break_it(docs)
    problems = policy_problems(docs, answers(name))
    assert any(p.startswith(expected) for p in problems), problems


def test_the_service_monitor_is_strictly_valid_and_a_misspelt_key_fails() -> None:
    monitor = _one(rendered("everything-on"), "ServiceMonitor")
    assert crds.validate([monitor]) == []
    broken = copy.deepcopy(monitor)
    broken["spec"]["endpoints"][0]["scrapeTimeot"] = "10s"
    assert any("scrapeTimeot: unknown key" in e for e in crds.validate([broken]))
