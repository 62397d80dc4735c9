"""The formats answers are written in, parsed or checked for the rules of ``answer_rules``.

Kubernetes quantities (``500m``, ``1Gi``), DNS names, URLs, image references and printable
text; the schedules of Kubernetes CronJobs and Kubernetes names come from the rules the model
card shares (``platform/src/modelship/rules.py``, loaded from the template by its path). Each
``*_problem`` function says why a value is not of its format, or returns None. Standard
library only: the pre-generation hook imports this in cookiecutter's interpreter.
"""

from __future__ import annotations

import importlib.util
import ipaddress
import re
import sys
import unicodedata
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from urllib.parse import urlsplit

SHARED_RULES = Path(__file__).resolve().parents[1] / "platform" / "src" / "modelship" / "rules.py"


def _load_shared_rules(path: Path = SHARED_RULES) -> ModuleType:
    """The card's rules module, from the template repository (one source for hook and card)."""
    spec = importlib.util.spec_from_file_location("modelship_shared_rules", path)
    if spec is None or spec.loader is None or not path.is_file():
        raise ImportError(f"the shared answer rules are missing: {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


_shared = _load_shared_rules()
K8S_NAME_MAX: int = _shared.K8S_NAME_MAX
DNS_LABEL_RE: re.Pattern[str] = _shared.DNS_LABEL_RE
CRON_MACROS: tuple[str, ...] = _shared.CRON_MACROS
CRON_HELP: str = _shared.CRON_HELP
cron_problem: Callable[[str], str | None] = _shared.cron_problem

HOST_LABEL_RE = re.compile(r"[A-Za-z0-9](?:[-A-Za-z0-9]*[A-Za-z0-9])?")
URL_PATH_SEGMENT_RE = re.compile(r"[A-Za-z0-9._~-]+")

# The image grammar of the distribution/reference package (what docker and Kubernetes use).
_IMAGE_DOMAIN = (
    r"(?:localhost|[A-Za-z0-9](?:[-A-Za-z0-9]*[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[-A-Za-z0-9]*[A-Za-z0-9])?)+)(?::[0-9]+)?"
)
_IMAGE_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
IMAGE_RE = re.compile(rf"(?:{_IMAGE_DOMAIN}/)?{_IMAGE_COMPONENT}(?:/{_IMAGE_COMPONENT})*")
IMAGE_NAME_MAX = 255

# resource.Quantity of Kubernetes (k8s.io/apimachinery), without a sign: resources are >= 0.
QUANTITY_RE = re.compile(
    r"(?P<number>[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
    r"(?P<suffix>[KMGTPE]i|[numkMGTPE]|[eE][+-]?[0-9]+)?"
)
QUANTITY_SUFFIXES = {
    "": Decimal(1),
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "k": Decimal("1e3"),
    "M": Decimal("1e6"),
    "G": Decimal("1e9"),
    "T": Decimal("1e12"),
    "P": Decimal("1e15"),
    "E": Decimal("1e18"),
    "Ki": Decimal(2**10),
    "Mi": Decimal(2**20),
    "Gi": Decimal(2**30),
    "Ti": Decimal(2**40),
    "Pi": Decimal(2**50),
    "Ei": Decimal(2**60),
}
QUANTITY_HELP = (
    "a Kubernetes quantity: a non-negative number with an optional suffix "
    "m, k, M, G, T, P, E, Ki, Mi, Gi, Ti, Pi, Ei or an exponent e<N>"
)


def dns_name_problem(host: str) -> str | None:
    """Why ``host`` is not a DNS name (labels of letters, digits and '-'), or None."""
    if len(host) > 253:
        return "is longer than 253 characters"
    labels = host.split(".")
    for label in labels:
        if len(label) > K8S_NAME_MAX or not HOST_LABEL_RE.fullmatch(label):
            return f"has an invalid label {label!r}"
    if labels[-1].isdigit():
        return "ends in a numeric label"
    return None


def parse_quantity(value: str) -> Decimal | None:
    """The amount ``value`` stands for as a Kubernetes quantity, or None if it is not one."""
    match = QUANTITY_RE.fullmatch(value)
    if not match:
        return None
    number = Decimal(match["number"])
    suffix = match["suffix"] or ""
    if suffix[:1] in ("e", "E"):
        exponent = int(suffix[1:])
        return number.scaleb(exponent) if abs(exponent) <= 100 else None
    return number * QUANTITY_SUFFIXES[suffix]


def quantity_range_problem(
    value: str, lowest: Decimal, highest: Decimal, unit: Decimal, allowed: str, too_fine: str
) -> str | None:
    """Why ``value`` is not a quantity from ``lowest`` to ``highest`` in whole ``unit``s."""
    amount = parse_quantity(value)
    if amount is None or not lowest <= amount <= highest:
        return allowed
    if amount % unit:
        return f"{too_fine}; {allowed}"
    return None


def url_problem(value: str, schemes: tuple[str, ...], min_path_segments: int) -> str | None:
    """What is wrong with ``value`` as a URL with one of ``schemes``, or None."""
    if any(ch.isspace() or unicodedata.category(ch) == "Cc" for ch in value):
        return "contains whitespace or control characters"
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError as err:
        return f"is not a well-formed URL ({err})"
    if parts.scheme not in schemes:
        return "has the wrong scheme"
    if "@" in parts.netloc:
        return "carries credentials (user@host); give them as secrets, not in the URL"
    host = parts.hostname or ""
    if not host:
        return "has no host"
    if port == 0:
        return "has port 0"
    try:
        ipaddress.ip_address(host)
    except ValueError:
        problem = dns_name_problem(host)
        if problem:
            return f"has a host that {problem}"
    if parts.query or parts.fragment or value.endswith(("?", "#")):
        return "has a query or fragment"
    segments = parts.path.strip("/").split("/") if parts.path.strip("/") else []
    if len(segments) < min_path_segments:
        return f"needs a path of at least {min_path_segments} segment(s)"
    for segment in segments:
        if not URL_PATH_SEGMENT_RE.fullmatch(segment):
            return f"has an invalid path segment {segment!r}"
    return None


def unprintable(ch: str) -> bool:
    """Control characters, lone surrogates and the non-characters U+FFFE and U+FFFF, which
    TOML and YAML files cannot carry as they are."""
    return unicodedata.category(ch) in ("Cc", "Cs") or ch in "\ufffe\uffff"


INTEGER_RE = re.compile(r"0|[1-9][0-9]*")
#: A check takes an answer and returns None, or the reason it is not allowed.
Check = Callable[[str], str | None]


def whole_number(lowest: int, highest: int) -> Check:
    """The check of an answer that is a whole number from ``lowest`` to ``highest``."""
    allowed = f"a whole number from {lowest} to {highest}"

    def check(value: str) -> str | None:
        if not INTEGER_RE.fullmatch(value):
            return f"must be {allowed} (digits only, no sign or leading zero)"
        if not lowest <= int(value) <= highest:
            return f"must be {allowed}"
        return None

    return check


def one_of(*choices: str) -> Check:
    """The check of an answer that must be one of ``choices``, exactly."""
    allowed = " or ".join(repr(choice) for choice in choices)

    def check(value: str) -> str | None:
        return None if value in choices else f"must be {allowed}"

    return check


def matching(value: str, pattern: re.Pattern[str], max_length: int, allowed: str) -> str | None:
    """``allowed`` if ``value`` is longer than ``max_length`` or does not match ``pattern``."""
    if len(value) > max_length or not pattern.fullmatch(value):
        return allowed
    return None


def dns_label_problem(value: str, what: str) -> str | None:
    allowed = (
        f"must be {what}: a DNS-1123 label of at most {K8S_NAME_MAX} characters, "
        "lowercase letters, digits and '-', starting and ending with a letter or digit"
    )
    return matching(value, DNS_LABEL_RE, K8S_NAME_MAX, allowed)
