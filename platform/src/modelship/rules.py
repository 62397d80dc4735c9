"""Formats the template's answers and the platform's model card share: one source for both.

Standard library only. The platform imports it as ``modelship.rules``; the template's
cookiecutter hook (``hooks/answer_formats.py``) loads this very file by its path, because it
runs in cookiecutter's interpreter, where the platform is not installed.
"""

from __future__ import annotations

import re

#: Kubernetes object names: DNS-1123 labels of at most 63 characters.
K8S_NAME_MAX = 63
DNS_LABEL_PATTERN = r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?"
DNS_LABEL_RE = re.compile(DNS_LABEL_PATTERN)


def is_dns_label(value: str) -> bool:
    """A Kubernetes name: lowercase letters, digits and '-', at most 63, alphanumeric ends."""
    return len(value) <= K8S_NAME_MAX and DNS_LABEL_RE.fullmatch(value) is not None


CRON_MACROS = ("@hourly", "@daily", "@midnight", "@weekly", "@monthly", "@yearly", "@annually")
CRON_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
CRON_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
# (name, lowest, highest, names for lowest, lowest+1, ...): the 5 fields of Kubernetes CronJobs
# (robfig/cron's standard parser, which takes day of week 0-6 only).
CRON_FIELDS = (
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day of month", 1, 31, ()),
    ("month", 1, 12, CRON_MONTHS),
    ("day of week", 0, 6, CRON_DAYS),
)
CRON_HELP = (
    "empty (off), 5 fields 'minute hour day-of-month month day-of-week' made of numbers, '*', "
    "ranges a-b, steps */n or a-b/n, lists a,b, names jan-dec and sun-sat, "
    "or one of " + ", ".join(CRON_MACROS)
)


def _cron_value(text: str, lowest: int, highest: int, names: tuple[str, ...]) -> int | None:
    if text.isascii() and text.isdigit():
        number = int(text)
        return number if lowest <= number <= highest else None
    if text.lower() in names:
        return lowest + names.index(text.lower())
    return None


def _cron_field_problem(field: str, spec: tuple[str, int, int, tuple[str, ...]]) -> str | None:
    name, lowest, highest, names = spec
    allowed_values = f"{lowest}-{highest}" + (f" or {names[0]}-{names[-1]}" if names else "")
    for item in field.split(","):
        base, slash, step = item.partition("/")
        if slash and not (step.isascii() and step.isdigit() and 1 <= int(step) <= highest):
            return f"{name} {item!r} has a step that is not a number from 1 to {highest}"
        if base == "*":
            continue
        start, dash, end = base.partition("-")
        first = _cron_value(start, lowest, highest, names)
        last = _cron_value(end, lowest, highest, names) if dash else first
        if first is None or last is None:
            return f"{name} {item!r} is not '*', a value, a range or a list of {allowed_values}"
        if first > last:
            return f"{name} {item!r} is a range whose start is after its end"
        if slash and not dash:
            return f"{name} {item!r} has a step on a single value (use a range or '*')"
    return None


def cron_problem(expression: str) -> str | None:
    """Why ``expression`` is not a schedule Kubernetes CronJobs accept, or None."""
    if expression.startswith("@"):
        return None if expression in CRON_MACROS else "is an unknown @ macro"
    fields = expression.split()
    if len(fields) != len(CRON_FIELDS):
        return f"has {len(fields)} fields instead of {len(CRON_FIELDS)}"
    for field, spec in zip(fields, CRON_FIELDS, strict=True):
        problem = _cron_field_problem(field, spec)
        if problem:
            return problem
    return None
