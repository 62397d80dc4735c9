"""The rule of every answer of ``cookiecutter.json``, checked before anything is generated.

Each ``check_<rule>`` takes an answer and returns None when it is valid, or the reason it is
not, saying what is allowed (``must be ...``). ``CHECKS`` maps every answer to its check and
``validate_answers`` checks them all, plus the rules between answers, as one line per problem.
The pre-generation hook imports this module from the template's ``hooks/`` folder; it runs in
cookiecutter's interpreter, so it uses the standard library only.

Why the project slug is at most 40 characters
---------------------------------------------
Kubernetes names are DNS-1123 labels of at most 63 characters, and a CronJob name at most
52, because the CronJob controller appends ``-<11 characters>`` to name each Job it starts
(the Job name is copied into the ``job-name`` label of its Pods, which is limited to 63).
The longest names the manifests derive from the slug are the CronJobs ``<slug>-retrain`` and
``<slug>-batch``: ``52 - len("-retrain") = 44``. Four characters stay in reserve for one
more short suffix, which gives ``MAX_PROJECT_LENGTH = 40``. The slug is also the name of a
Service, and Service names are DNS-1035 labels, so it must start with a letter.
"""

from __future__ import annotations

import keyword
import re
import sys
from collections.abc import Mapping

from answer_formats import (
    CRON_HELP,
    IMAGE_NAME_MAX,
    IMAGE_RE,
    K8S_NAME_MAX,
    Check,
    cron_problem,
    matching,
    one_of,
    parse_quantity,
    unprintable,
    url_problem,
    whole_number,
)
from network_rules import NETWORK_CHECKS, network_problems
from resource_rules import (
    MODEL_NAMESPACES,  # noqa: F401  (the namespace answer's rule, read by the Argo CD tests)
    check_cpu,
    check_gpu_count,
    check_ingress_host,
    check_memory,
    check_namespace,
    check_replicas,
    check_workers,
)

CRONJOB_NAME_MAX = 52
LONGEST_CRONJOB_SUFFIX = "-retrain"
SLUG_RESERVE = 4
MAX_PROJECT_LENGTH = CRONJOB_NAME_MAX - len(LONGEST_CRONJOB_SUFFIX) - SLUG_RESERVE  # 40
MAX_DESCRIPTION_LENGTH = 300
PYTHON_MINORS = range(11, 16)  # 3.11 to 3.15

#: Top-level modules the baked project imports or its tooling puts on sys.path; a package
#: with one of these names would shadow it.
SHADOWED_PACKAGES = frozenset(
    {
        "alembic",
        "anyio",
        "asgi_lifespan",
        "boto3",
        "botocore",
        "click",
        "cloudpickle",
        "conftest",
        "dotenv",
        "fastapi",
        "gunicorn",
        "httpx",
        "jinja2",
        "joblib",
        "matplotlib",
        "mlflow",
        "modelship",
        "multipart",
        "numpy",
        "orjson",
        "pandas",
        "pip",
        "prometheus_client",
        "prometheus_fastapi_instrumentator",
        "psutil",
        "pyarrow",
        "pydantic",
        "pydantic_core",
        "pydantic_settings",
        "pytest",
        "python_multipart",
        "requests",
        "schemathesis",
        "scipy",
        "setuptools",
        "skops",
        "sklearn",
        "sqlalchemy",
        "src",
        "starlette",
        "test",
        "tests",
        "typing_extensions",
        "uvicorn",
        "uvicorn_worker",
        "yaml",
    }
)

PROJECT_RE = re.compile(r"[a-z](?:[-a-z0-9]*[a-z0-9])?")
PACKAGE_RE = re.compile(r"[a-z][a-z0-9_]*")
OWNER_RE = re.compile(r"[a-z0-9](?:[-a-z0-9._]*[a-z0-9])?")
GITHUB_ORG_RE = re.compile(r"[A-Za-z0-9](?:-?[A-Za-z0-9])*")
MODEL_NAME_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9_])?")
ALIAS_RE = re.compile(r"[A-Za-z0-9_-]+")
VERSION_ALIAS_RE = re.compile(r"[vV][0-9]+")
PYTHON_VERSION_RE = re.compile(r"3\.(0|[1-9][0-9]*)")
DECIMAL_RE = re.compile(r"(0|[1-9][0-9]*)(\.[0-9]+)?")


def check_project(value: str) -> str | None:
    allowed = (
        f"must be a DNS-1123 label of at most {MAX_PROJECT_LENGTH} characters: lowercase "
        "letters, digits and '-', starting with a letter and ending with a letter or digit "
        f"(it names Kubernetes objects up to '<project>{LONGEST_CRONJOB_SUFFIX}', and CronJob "
        f"names are limited to {CRONJOB_NAME_MAX}), e.g. 'fraud-detector'"
    )
    return matching(value, PROJECT_RE, MAX_PROJECT_LENGTH, allowed)


def check_package(value: str) -> str | None:
    allowed = (
        "a lowercase Python identifier (letters, digits and '_', starting with a letter) "
        "that is not a keyword, a standard-library module or a common dependency"
    )
    if not value.isascii() or not PACKAGE_RE.fullmatch(value) or len(value) > K8S_NAME_MAX:
        return f"must be {allowed}, at most {K8S_NAME_MAX} characters, e.g. 'fraud_detector'"
    if keyword.iskeyword(value) or keyword.issoftkeyword(value):
        return f"is a Python keyword; must be {allowed}"
    if value in sys.stdlib_module_names:
        return f"shadows the standard-library module {value!r}; must be {allowed}"
    if value in SHADOWED_PACKAGES:
        return f"shadows the dependency or test package {value!r}; must be {allowed}"
    return None


def check_description(value: str) -> str | None:
    allowed = (
        f"a non-empty single line of at most {MAX_DESCRIPTION_LENGTH} characters "
        "(any unicode, no line breaks, control characters, surrogates or non-characters)"
    )
    if not value.strip():
        return f"is empty; must be {allowed}"
    if len(value.splitlines()) > 1:
        return f"has a line break; must be {allowed}"
    if any(unprintable(ch) for ch in value):
        return f"has a control character, surrogate or non-character; must be {allowed}"
    if len(value) > MAX_DESCRIPTION_LENGTH:
        return f"is too long; must be {allowed}"
    return None


def check_owner(value: str) -> str | None:
    allowed = (
        f"must be a team name usable as a Kubernetes label value: at most {K8S_NAME_MAX} "
        "lowercase letters, digits, '-', '_' and '.', starting and ending with a letter "
        "or digit, e.g. 'ml-team'"
    )
    return matching(value, OWNER_RE, K8S_NAME_MAX, allowed)


def check_github_org(value: str) -> str | None:
    allowed = (
        "must be a GitHub organisation or user name: at most 39 letters, digits and "
        "single '-', not starting or ending with '-', e.g. 'acme'"
    )
    return matching(value, GITHUB_ORG_RE, 39, allowed)


def check_git_repo_url(value: str) -> str | None:
    problem = url_problem(value, ("https",), min_path_segments=2)
    allowed = (
        "must be an https:// URL of the repository without credentials, "
        "query or fragment, e.g. 'https://github.com/acme/fraud-detector'"
    )
    return f"{problem}; {allowed}" if problem else None


def check_mlflow_tracking_uri(value: str) -> str | None:
    problem = url_problem(value, ("http", "https"), min_path_segments=0)
    if problem is None and "[" in value:
        # The NetworkPolicy template takes MLflow's port from "host:port".
        problem = "has an IPv6 literal host, which the NetworkPolicy cannot take a port from"
    allowed = (
        "must be an http:// or https:// URL of the MLflow tracking server without "
        "credentials, query or fragment, with a DNS name or IPv4 address as host, "
        "e.g. 'http://mlflow.mlflow.svc.cluster.local:5000'"
    )
    return f"{problem}; {allowed}" if problem else None


def check_image(value: str) -> str | None:
    allowed = (
        "must be an image reference without tag or digest: [registry[:port]/]path with "
        "lowercase path components of letters, digits, '.', '_', '__' and '-' separated by "
        f"'/', at most {IMAGE_NAME_MAX} characters, e.g. 'ghcr.io/acme/fraud-detector'"
    )
    if "@" in value:
        return f"has a digest; {allowed} (CI sets the tag)"
    if ":" in value.rsplit("/", 1)[-1]:
        return f"has a tag; {allowed} (CI sets the tag)"
    if len(value) > IMAGE_NAME_MAX or not IMAGE_RE.fullmatch(value):
        return allowed
    return None


def check_mlflow_model_name(value: str) -> str | None:
    allowed = (
        "must be an MLflow registered model name of at most 128 letters, digits, '.', '_' "
        "and '-', starting with a letter or digit (no '/', ':', '@' or spaces: it is part "
        "of models:/<name>@<alias>), e.g. 'fraud-detector'"
    )
    return matching(value, MODEL_NAME_RE, 128, allowed)


def check_mlflow_model_alias(value: str) -> str | None:
    allowed = (
        "must be an MLflow alias: 1 to 255 letters, digits, '_' and '-', "
        "not 'latest' and not a version like 'v3' (both reserved by MLflow), e.g. 'champion'"
    )
    if len(value) > 255 or not ALIAS_RE.fullmatch(value):
        return allowed
    if value.lower() == "latest" or VERSION_ALIAS_RE.fullmatch(value):
        return f"is reserved; {allowed}"
    return None


def check_python_version(value: str) -> str | None:
    match = PYTHON_VERSION_RE.fullmatch(value)
    if not match or int(match[1]) not in PYTHON_MINORS:
        return (
            f"must be a Python version 3.{PYTHON_MINORS[0]} to 3.{PYTHON_MINORS[-1]} "
            "written as 3.X, e.g. '3.11'"
        )
    return None


check_request_timeout_s = whole_number(1, 3600)
check_max_batch_rows = whole_number(1, 1_000_000)
check_retrain_keep = whole_number(1, 100)


check_visibility = one_of("public", "private")
check_row_independent = one_of("false", "true")
check_example = one_of("fraud", "skeleton")


def check_price(value: str) -> str | None:
    if not DECIMAL_RE.fullmatch(value):
        return (
            "must be a non-negative decimal written with digits and an optional '.' "
            "followed by digits (no sign, exponent or leading zero), e.g. '0.001' or '0'"
        )
    return None


def check_schedule(value: str) -> str | None:
    if value == "":
        return None
    problem = cron_problem(value)
    return f"{problem}; must be {CRON_HELP}" if problem else None


#: Every answer of cookiecutter.json and its check (a test keeps the two in step).
CHECKS: dict[str, Check] = {
    "project": check_project,
    "package": check_package,
    "description": check_description,
    "owner": check_owner,
    "github_org": check_github_org,
    "git_repo_url": check_git_repo_url,
    "image": check_image,
    "mlflow_model_name": check_mlflow_model_name,
    "mlflow_model_alias": check_mlflow_model_alias,
    "mlflow_tracking_uri": check_mlflow_tracking_uri,
    "python_version": check_python_version,
    "namespace": check_namespace,
    "ingress_host": check_ingress_host,
    "cpu_request": check_cpu,
    "cpu_limit": check_cpu,
    "memory": check_memory,
    "download_size": check_memory,
    "gpu_count": check_gpu_count,
    "replicas": check_replicas,
    "workers": check_workers,
    "request_timeout_s": check_request_timeout_s,
    "max_batch_rows": check_max_batch_rows,
    "visibility": check_visibility,
    "row_independent": check_row_independent,
    "example": check_example,
    "price_per_call": check_price,
    "price_per_row": check_price,
    "retrain_schedule": check_schedule,
    "retrain_keep": check_retrain_keep,
    "batch_schedule": check_schedule,
    **NETWORK_CHECKS,
}


def problem_line(name: str, value: object, reason: str) -> str:
    """One line of the error report: the answer, its value and what is allowed."""
    return f"invalid answer {name}={value!r}: {reason}"


def validate_answers(answers: Mapping[str, object]) -> list[str]:
    """Every problem of ``answers`` as one line each; empty when all answers are valid."""
    problems = []
    for name, check in CHECKS.items():
        if name not in answers:
            problems.append(f"missing answer {name}: cookiecutter.json must define it")
            continue
        value = answers[name]
        if not isinstance(value, str):
            problems.append(problem_line(name, value, "must be a string"))
            continue
        reason = check(value)
        if reason:
            problems.append(problem_line(name, value, reason))
    request = parse_quantity(str(answers.get("cpu_request", "")))
    limit = parse_quantity(str(answers.get("cpu_limit", "")))
    if request is not None and limit is not None and limit < request:
        reason = f"must be at least cpu_request ({answers['cpu_request']!r})"
        problems.append(problem_line("cpu_limit", answers["cpu_limit"], reason))
    invalid = {line.split("=", 1)[0].split()[-1] for line in problems}
    if not invalid & set(NETWORK_CHECKS):  # the rules between them need each one valid
        problems += [problem_line(n, answers.get(n), why) for n, why in network_problems(answers)]
    return problems


def report_problems(answers: Mapping[str, object]) -> bool:
    """Print every problem of ``answers`` to stderr, then how many; True when there were any."""
    problems = validate_answers(answers)
    if problems:
        summary = f"{len(problems)} invalid answer(s); nothing was generated."
        print(*problems, summary, sep="\n", file=sys.stderr)
    return bool(problems)
