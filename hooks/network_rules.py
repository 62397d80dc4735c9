"""The rules of the answers that shape the NetworkPolicy and the monitoring of the service.

What the pods may reach is named by the answers, never guessed: MLflow and the artifact store
in the cluster by namespace and pod labels, anything outside it by IPv4 CIDR
(``egress_cidrs``). Outside addresses must be public: a CIDR inside a private, carrier-grade
NAT or loopback range is refused unless ``egress_private_allowed`` is ``true``, and a CIDR
that contains such ranges gets them excepted in the NetworkPolicy (the template computes the
same list). Link-local addresses (169.254.0.0/16, the cloud metadata service) are never
reachable: refused inside, always excepted from a CIDR that contains them. ``answer_rules`` merges ``NETWORK_CHECKS`` into its checks and
``network_problems`` into its rules between answers. Standard library only (the hook runs in
cookiecutter's interpreter).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from urllib.parse import urlsplit

from answer_formats import K8S_NAME_MAX, Check, one_of, whole_number

DNS_LABEL_RE = re.compile(r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?")
LABEL_NAME_RE = re.compile(r"[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?")
LABEL_PREFIX_RE = re.compile(r"[a-z0-9](?:[-a-z0-9.]*[a-z0-9])?")
LINK_LOCAL = ipaddress.ip_network("169.254.0.0/16")
#: Never reached through an outside CIDR unless egress_private_allowed is true (the template's
#: networkpolicy.yaml excepts the same ranges).
NOT_PUBLIC = tuple(
    ipaddress.ip_network(cidr)
    for cidr in ("10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
)


def _namespace(value: str, empty: str | None) -> str | None:
    if value == "" and empty is not None:
        return None
    if len(value) <= K8S_NAME_MAX and DNS_LABEL_RE.fullmatch(value):
        return None
    allowed = "a Kubernetes namespace (DNS-1123 label: lowercase letters, digits and '-')"
    return f"must be {allowed}" + (f" or empty ({empty})" if empty else "")


def check_monitoring_namespace(value: str) -> str | None:
    return _namespace(value, None)


def check_mlflow_namespace(value: str) -> str | None:
    return _namespace(value, "MLflow outside the cluster, reached through egress_cidrs")


def check_artifact_store_namespace(value: str) -> str | None:
    return _namespace(value, "no artifact store in the cluster")


def _label_problem(pair: str) -> str | None:
    key, sep, value = pair.partition("=")
    prefix, slash, name = key.rpartition("/")
    if not sep or not name:
        return f"{pair!r} is not key=value"
    if slash and (len(prefix) > 253 or not LABEL_PREFIX_RE.fullmatch(prefix)):
        return f"{pair!r} has an invalid key prefix"
    if len(name) > K8S_NAME_MAX or not LABEL_NAME_RE.fullmatch(name):
        return f"{pair!r} has an invalid key"
    if value and (len(value) > K8S_NAME_MAX or not LABEL_NAME_RE.fullmatch(value)):
        return f"{pair!r} has an invalid value"
    return None


def check_pod_labels(value: str) -> str | None:
    if value == "":
        return None
    for pair in value.split(","):
        if problem := _label_problem(pair):
            return (
                f"{problem}; must be empty (every pod of the namespace) or Kubernetes labels "
                "as comma-separated key=value, e.g. 'app.kubernetes.io/name=mlflow'"
            )
    return None


check_artifact_store_port = whole_number(1, 65535)
check_service_monitor = one_of("false", "true")
check_egress_private_allowed = one_of("false", "true")


def egress_networks(value: str) -> list[ipaddress.IPv4Network]:
    """The CIDRs of ``egress_cidrs`` (raises ValueError on a malformed one)."""
    networks = []
    for cidr in filter(None, value.split(",")):
        network = ipaddress.ip_network(cidr, strict=True)
        if not isinstance(network, ipaddress.IPv4Network) or "/" not in cidr:
            raise ValueError(f"{cidr!r} is not an IPv4 CIDR a.b.c.d/n")
        networks.append(network)
    return networks


def check_egress_cidrs(value: str) -> str | None:
    allowed = (
        "must be empty (nothing outside the cluster) or comma-separated IPv4 CIDRs with "
        "no host bits set and no spaces, e.g. '52.216.0.0/15,203.0.113.10/32'"
    )
    try:
        networks = egress_networks(value)
    except ValueError as err:
        return f"{err}; {allowed}"
    for network in networks:
        if network.subnet_of(LINK_LOCAL):
            return (
                f"{network} is link-local (169.254.0.0/16, the cloud metadata service), "
                f"which the pods may never reach; {allowed}"
            )
    return None


NETWORK_CHECKS: dict[str, Check] = {
    "monitoring_namespace": check_monitoring_namespace,
    "service_monitor": check_service_monitor,
    "mlflow_namespace": check_mlflow_namespace,
    "mlflow_pod_labels": check_pod_labels,
    "artifact_store_namespace": check_artifact_store_namespace,
    "artifact_store_pod_labels": check_pod_labels,
    "artifact_store_port": check_artifact_store_port,
    "egress_cidrs": check_egress_cidrs,
    "egress_private_allowed": check_egress_private_allowed,
}


def cluster_namespace(tracking_uri: str) -> str | None:
    """The namespace of an in-cluster MLflow URI (``svc.ns`` or ``svc.ns.svc[...]``), else None."""
    parts = (urlsplit(tracking_uri).hostname or "").split(".")
    if len(parts) == 2 or (len(parts) > 2 and parts[2] == "svc"):
        return parts[1]
    return None


def network_problems(answers: Mapping[str, object]) -> list[tuple[str, str]]:
    """(answer, reason) for each rule between the network answers that is broken."""
    get = {key: str(answers.get(key, "")) for key in ("mlflow_tracking_uri", *NETWORK_CHECKS)}
    uri, namespace, cidrs = get["mlflow_tracking_uri"], get["mlflow_namespace"], get["egress_cidrs"]
    in_cluster = cluster_namespace(uri)
    problems = []
    if in_cluster and namespace != in_cluster:
        why = f"the namespace of mlflow_tracking_uri ({uri!r}), which the pods must reach"
        problems.append(("mlflow_namespace", f"must be {in_cluster!r}, {why}"))
    if not in_cluster and namespace:
        why = "mlflow_tracking_uri is outside the cluster (not <service>.<namespace>[.svc...])"
        problems.append(
            ("mlflow_namespace", f"must be empty: {why}; give its CIDR in egress_cidrs")
        )
    if not in_cluster and not cidrs:
        why = "mlflow_tracking_uri is outside the cluster and the NetworkPolicy opens nothing else"
        problems.append(
            ("egress_cidrs", f"must name MLflow's IPv4 CIDR(s), e.g. '203.0.113.10/32': {why}")
        )
    if get["egress_private_allowed"] != "true" and check_egress_cidrs(cidrs) is None:
        for network in egress_networks(cidrs):
            for private in (r for r in NOT_PUBLIC if network.subnet_of(r)):
                why = "or answer egress_private_allowed=true to reach it"
                reason = f"must be public addresses: {network} is inside {private}, {why}"
                problems.append(("egress_cidrs", reason))
    return problems
