"""The rules of the answers that place and size the service in the cluster: its namespace
(one the modelship-models Argo CD project admits), the Ingress host, CPU, memory, GPUs,
replicas and workers. ``answer_rules`` imports these checks into ``CHECKS``. Standard library
only (the hook runs in cookiecutter's interpreter).
"""

from __future__ import annotations

from decimal import Decimal

from answer_formats import (
    QUANTITY_HELP,
    dns_label_problem,
    dns_name_problem,
    quantity_range_problem,
    whole_number,
)

CPU_MIN, CPU_MAX = Decimal("0.001"), Decimal(128)
MEMORY_MIN, MEMORY_MAX = Decimal(64 * 2**20), Decimal(2**40)


#: The namespaces the modelship-models Argo CD project admits (argocd/appproject-models.yaml).
MODEL_NAMESPACES = ("models", "models-*")


def check_namespace(value: str) -> str | None:
    if problem := dns_label_problem(value, "a Kubernetes namespace"):
        return problem
    if value != "models" and not value.startswith("models-"):
        return "must be 'models' or start with 'models-' (the namespaces model repos may use)"
    return None


def check_ingress_host(value: str) -> str | None:
    if value == "":
        return None
    problem = dns_name_problem(value)
    if problem is None and (value != value.lower() or "." not in value):
        problem = "is not a lowercase fully qualified name"
    if problem:
        return (
            f"{problem}; must be empty (no Ingress) or a lowercase DNS name (DNS-1123 "
            "subdomain) with at least one dot and no wildcard, e.g. 'fraud.models.example.com'"
        )
    return None


def check_cpu(value: str) -> str | None:
    allowed = f"must be {QUANTITY_HELP}, from 1m to {CPU_MAX} CPUs, e.g. '500m' or '2'"
    too_fine = "is finer than 1m (Kubernetes would round it)"
    return quantity_range_problem(value, CPU_MIN, CPU_MAX, CPU_MIN, allowed, too_fine)


def check_memory(value: str) -> str | None:
    allowed = f"must be {QUANTITY_HELP}, from 64Mi to 1Ti bytes, e.g. '1Gi' or '512Mi'"
    too_fine = "is not a whole number of bytes (did you mean Mi, not m?)"
    return quantity_range_problem(value, MEMORY_MIN, MEMORY_MAX, Decimal(1), allowed, too_fine)


check_gpu_count = whole_number(0, 8)
check_replicas = whole_number(1, 50)
check_workers = whole_number(1, 32)
