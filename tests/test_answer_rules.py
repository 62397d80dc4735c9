"""Unit tests of the answer rules (``hooks/answer_rules.py`` and ``hooks/answer_formats.py``):
every rule one value at a time, then the answers together as ``validate_answers`` sees them.

Baking with bad or awkward answers, and the hook files themselves, are in ``test_hooks.py``.
"""

from __future__ import annotations

import json
import re

import pytest
from baking import TEMPLATE_DIR, default_answers, import_hook_module

rules = import_hook_module("answer_rules")

# ------------------------------------------------------------------ the answers of the template


def test_every_answer_of_cookiecutter_json_has_a_check() -> None:
    raw = json.loads((TEMPLATE_DIR / "cookiecutter.json").read_text(encoding="utf-8"))
    answers = {key for key in raw if not key.startswith("_")}
    assert set(rules.CHECKS) == answers


def test_the_defaults_are_valid() -> None:
    assert rules.validate_answers(default_answers()) == []


def test_the_slug_bound_leaves_room_for_the_longest_cronjob_name() -> None:
    assert rules.MAX_PROJECT_LENGTH == 40
    longest = "x" * rules.MAX_PROJECT_LENGTH + rules.LONGEST_CRONJOB_SUFFIX
    assert len(longest) <= rules.CRONJOB_NAME_MAX


# ------------------------------------------------------------------------ one rule at a time

# (check, value) pairs that must pass.
ACCEPTED = [
    ("check_retrain_keep", "5"),
    ("check_project", "fraud-detector"),
    ("check_project", "a"),
    ("check_project", "credit-scorer-2"),
    ("check_project", "a--b"),
    ("check_project", "x" * 40),
    ("check_package", "fraud_detector"),
    ("check_package", "credit_scorer_2"),
    ("check_description", "Scores card transactions for fraud."),
    ("check_description", 'It\'s "quoted" \\ back \'\'\' """ ünïcødé 🚀 <b>&amp;'),
    ("check_description", "x" * 300),
    ("check_owner", "ml-team"),
    ("check_owner", "risk.ml_team2"),
    ("check_github_org", "acme"),
    ("check_github_org", "Acme-Corp-2"),
    ("check_git_repo_url", "https://github.com/acme/fraud-detector"),
    ("check_git_repo_url", "https://gitlab.example.com/group/sub/fraud-detector.git"),
    ("check_git_repo_url", "https://git.example.com:8443/acme/x/"),
    ("check_mlflow_tracking_uri", "http://mlflow.mlflow.svc.cluster.local:5000"),
    ("check_mlflow_tracking_uri", "https://mlflow.example.com/"),
    ("check_mlflow_tracking_uri", "http://mlflow:5000"),
    ("check_mlflow_tracking_uri", "http://10.0.0.7:5000/mlflow"),
    ("check_image", "ghcr.io/acme/fraud-detector"),
    ("check_image", "acme/fraud-detector"),
    ("check_image", "fraud"),
    ("check_image", "localhost:5000/team/fraud_detector"),
    ("check_image", "registry.example.com:5000/a/b__c/d.e--f"),
    ("check_mlflow_model_name", "fraud-detector"),
    ("check_mlflow_model_name", "Fraud.Detector_v2"),
    ("check_mlflow_model_alias", "champion"),
    ("check_mlflow_model_alias", "challenger"),
    ("check_mlflow_model_alias", "prod_2-eu"),
    ("check_mlflow_model_alias", "v2a"),
    ("check_python_version", "3.11"),
    ("check_python_version", "3.12"),
    ("check_python_version", "3.15"),
    ("check_namespace", "models"),
    ("check_namespace", "models-team-a"),
    ("check_ingress_host", ""),
    ("check_ingress_host", "fraud.models.example.com"),
    ("check_ingress_host", "a-1.io"),
    ("check_cpu", "500m"),
    ("check_cpu", "2"),
    ("check_cpu", "0.5"),
    ("check_cpu", "1m"),
    ("check_cpu", "128"),
    ("check_cpu", "1e1"),
    ("check_memory", "1Gi"),
    ("check_memory", "512Mi"),
    ("check_memory", "64Mi"),
    ("check_memory", "1G"),
    ("check_memory", "1.5Gi"),
    ("check_memory", "2e9"),
    ("check_gpu_count", "0"),
    ("check_gpu_count", "8"),
    ("check_replicas", "1"),
    ("check_replicas", "50"),
    ("check_workers", "1"),
    ("check_workers", "32"),
    ("check_request_timeout_s", "1"),
    ("check_request_timeout_s", "3600"),
    ("check_max_batch_rows", "1"),
    ("check_max_batch_rows", "1000000"),
    ("check_visibility", "public"),
    ("check_visibility", "private"),
    ("check_row_independent", "true"),
    ("check_row_independent", "false"),
    ("check_example", "fraud"),
    ("check_example", "skeleton"),
    ("check_price", "0"),
    ("check_price", "0.001"),
    ("check_price", "12"),
    ("check_price", "1.50"),
    ("check_schedule", ""),
    ("check_schedule", "0 3 * * *"),
    ("check_schedule", "*/15 * * * *"),
    ("check_schedule", "0 0-23/2 * * mon-fri"),
    ("check_schedule", "0 0 1,15 * *"),
    ("check_schedule", "30 4 1 jan,JUL *"),
    ("check_schedule", "0 0 * * SUN"),
    ("check_schedule", "59 23 31 12 6"),
    ("check_schedule", "0  3 * *  *"),
    ("check_schedule", "@hourly"),
    ("check_schedule", "@daily"),
    ("check_schedule", "@weekly"),
    ("check_schedule", "@monthly"),
    ("check_schedule", "@yearly"),
]


@pytest.mark.parametrize(("check", "value"), ACCEPTED)
def test_accepted(check: str, value: str) -> None:
    assert getattr(rules, check)(value) is None


# (check, value, a phrase the reason must contain: what is allowed or what is wrong).
REJECTED = [
    ("check_retrain_keep", "0", "a whole number from 1 to 100"),
    ("check_project", "Fraud", "lowercase"),
    ("check_project", "fraud_detector", "DNS-1123 label"),
    ("check_project", "-fraud", "starting with a letter"),
    ("check_project", "fraud-", "ending with a letter or digit"),
    ("check_project", "1fraud", "starting with a letter"),
    ("check_project", "x" * 41, "at most 40 characters"),
    ("check_project", "", "DNS-1123 label"),
    ("check_project", "fräud", "DNS-1123 label"),
    ("check_project", "a.b", "DNS-1123 label"),
    ("check_project", "a/b", "DNS-1123 label"),
    ("check_package", "json", "shadows the standard-library module 'json'"),
    ("check_package", "platform", "standard-library module"),
    ("check_package", "mlflow", "shadows the dependency"),
    ("check_package", "sklearn", "shadows the dependency"),
    ("check_package", "pandas", "shadows the dependency"),
    ("check_package", "fastapi", "shadows the dependency"),
    ("check_package", "pydantic", "shadows the dependency"),
    ("check_package", "numpy", "shadows the dependency"),
    ("check_package", "tests", "shadows the dependency or test package"),
    ("check_package", "class", "keyword"),
    ("check_package", "match", "keyword"),
    ("check_package", "Fraud", "lowercase Python identifier"),
    ("check_package", "_fraud", "starting with a letter"),
    ("check_package", "1fraud", "starting with a letter"),
    ("check_package", "fraud-detector", "lowercase Python identifier"),
    ("check_package", "café", "lowercase Python identifier"),
    ("check_package", "", "lowercase Python identifier"),
    ("check_description", "", "non-empty single line"),
    ("check_description", "   ", "non-empty single line"),
    ("check_description", "one\ntwo", "has a line break"),
    ("check_description", "one\r\ntwo", "no line breaks"),
    ("check_description", "one\u2028two", "no line breaks"),
    ("check_description", "bell\x07", "control characters"),
    ("check_description", "del\x7f", "control character"),
    ("check_description", "lone \ud800 surrogate", "surrogate or non-character"),
    ("check_description", "non-character \uffff", "surrogate or non-character"),
    ("check_description", "tab\there", "control characters"),
    ("check_description", "x" * 301, "at most 300 characters"),
    ("check_owner", "ML-Team", "lowercase"),
    ("check_owner", "ml team", "lowercase letters, digits, '-', '_' and '.'"),
    ("check_owner", "-ml", "starting and ending with a letter or digit"),
    ("check_owner", "", "team name"),
    ("check_owner", "x" * 64, "at most 63"),
    ("check_github_org", "-acme", "not starting or ending with '-'"),
    ("check_github_org", "ac--me", "single '-'"),
    ("check_github_org", "acme_corp", "letters, digits and single '-'"),
    ("check_github_org", "x" * 40, "at most 39"),
    ("check_github_org", "", "GitHub organisation"),
    ("check_git_repo_url", "http://github.com/acme/x", "https://"),
    ("check_git_repo_url", "git@github.com:acme/x.git", "https://"),
    ("check_git_repo_url", "https://github.com", "at least 2 segment"),
    ("check_git_repo_url", "https://github.com/acme", "at least 2 segment"),
    ("check_git_repo_url", "https://me:token@github.com/acme/x", "credentials"),
    ("check_git_repo_url", "https://github.com/acme/x?tab=1", "query or fragment"),
    ("check_git_repo_url", "https://github.com/acme/x#readme", "query or fragment"),
    ("check_git_repo_url", "https://git hub.com/acme/x", "whitespace"),
    ("check_git_repo_url", "https:///acme/x", "no host"),
    ("check_git_repo_url", "https://github.com:99999/acme/x", "well-formed"),
    ("check_git_repo_url", "https://-bad-.com/acme/x", "invalid label"),
    ("check_git_repo_url", "https://github.com/acme/x y", "whitespace"),
    ("check_git_repo_url", "https://github.com/acme/<x>", "invalid path segment"),
    ("check_git_repo_url", "", "https://"),
    ("check_mlflow_tracking_uri", "sqlite:///mlflow.db", "http:// or https://"),
    ("check_mlflow_tracking_uri", "mlflow:5000", "http:// or https://"),
    ("check_mlflow_tracking_uri", "http://", "no host"),
    ("check_mlflow_tracking_uri", "ftp://mlflow", "http:// or https://"),
    ("check_mlflow_tracking_uri", "http://mlflow:0", "port 0"),
    ("check_mlflow_tracking_uri", "http://user:pw@mlflow:5000", "credentials"),
    ("check_mlflow_tracking_uri", "", "http:// or https://"),
    ("check_mlflow_tracking_uri", "http://[::1]:5000", "IPv6 literal host"),
    ("check_image", "ghcr.io/acme/x:1.0", "has a tag"),
    ("check_image", "localhost:5000/x:latest", "has a tag"),
    ("check_image", "ghcr.io/acme/x@sha256:" + "a" * 64, "has a digest"),
    ("check_image", "ghcr.io/Acme/x", "lowercase path components"),
    ("check_image", "ghcr.io/acme/x-", "image reference without tag"),
    ("check_image", "ghcr.io//x", "image reference without tag"),
    ("check_image", "https://ghcr.io/acme/x", "image reference without tag"),
    ("check_image", "", "image reference without tag"),
    ("check_image", "a/" + "b" * 255, "at most 255"),
    ("check_mlflow_model_name", "", "MLflow registered model name"),
    ("check_mlflow_model_name", "a/b", "no '/', ':', '@' or spaces"),
    ("check_mlflow_model_name", "a:b", "no '/', ':', '@' or spaces"),
    ("check_mlflow_model_name", "a@b", "no '/', ':', '@' or spaces"),
    ("check_mlflow_model_name", "fraud detector", "no '/', ':', '@' or spaces"),
    ("check_mlflow_model_name", "x" * 129, "at most 128"),
    ("check_mlflow_model_alias", "latest", "is reserved"),
    ("check_mlflow_model_alias", "Latest", "is reserved"),
    ("check_mlflow_model_alias", "v3", "not a version like 'v3'"),
    ("check_mlflow_model_alias", "V12", "is reserved"),
    ("check_mlflow_model_alias", "", "1 to 255 letters"),
    ("check_mlflow_model_alias", "my alias", "letters, digits, '_' and '-'"),
    ("check_mlflow_model_alias", "a@b", "letters, digits, '_' and '-'"),
    ("check_python_version", "3.10", "3.11 to 3.15"),
    ("check_python_version", "3.9", "3.11 to 3.15"),
    ("check_python_version", "3.16", "3.11 to 3.15"),
    ("check_python_version", "3", "written as 3.X"),
    ("check_python_version", "3.11.4", "written as 3.X"),
    ("check_python_version", "3.011", "written as 3.X"),
    ("check_python_version", "py3.11", "written as 3.X"),
    ("check_namespace", "Models", "DNS-1123 label"),
    ("check_namespace", "team_a", "lowercase letters, digits and '-'"),
    ("check_namespace", "x" * 64, "at most 63"),
    ("check_namespace", "", "Kubernetes namespace"),
    ("check_namespace", "team-a-models", "start with 'models-'"),
    ("check_namespace", "argocd", "start with 'models-'"),
    ("check_ingress_host", "localhost", "at least one dot"),
    ("check_ingress_host", "Fraud.example.com", "lowercase"),
    ("check_ingress_host", "*.example.com", "no wildcard"),
    ("check_ingress_host", "fraud..example.com", "invalid label ''"),
    ("check_ingress_host", "fraud.example.com.", "invalid label ''"),
    ("check_ingress_host", "https://fraud.example.com", "DNS name"),
    ("check_ingress_host", "10.0.0.1", "numeric label"),
    ("check_ingress_host", "-a.example.com", "invalid label '-a'"),
    ("check_ingress_host", "a" * 64 + ".example.com", "invalid label"),
    ("check_cpu", "0", "from 1m to 128 CPUs"),
    ("check_cpu", "-1", "non-negative number"),
    ("check_cpu", "+1", "Kubernetes quantity"),
    ("check_cpu", "500 m", "Kubernetes quantity"),
    ("check_cpu", "2 cores", "Kubernetes quantity"),
    ("check_cpu", "1.5.2", "Kubernetes quantity"),
    ("check_cpu", "0.0005", "from 1m"),
    ("check_cpu", "1.5m", "finer than 1m"),
    ("check_cpu", "129", "to 128 CPUs"),
    ("check_cpu", "", "Kubernetes quantity"),
    ("check_memory", "1GB", "Kubernetes quantity"),
    ("check_memory", "1gi", "Kubernetes quantity"),
    ("check_memory", "500m", "64Mi to 1Ti"),
    ("check_memory", "1", "64Mi to 1Ti"),
    ("check_memory", "2Ti", "64Mi to 1Ti"),
    ("check_memory", "-1Gi", "non-negative"),
    ("check_memory", "67108864500m", "whole number of bytes"),
    ("check_memory", "1e999", "Kubernetes quantity"),
    ("check_gpu_count", "-1", "from 0 to 8"),
    ("check_gpu_count", "9", "from 0 to 8"),
    ("check_gpu_count", "1.0", "digits only"),
    ("check_gpu_count", "", "whole number"),
    ("check_replicas", "0", "from 1 to 50"),
    ("check_replicas", "51", "from 1 to 50"),
    ("check_replicas", "02", "no sign or leading zero"),
    ("check_workers", "0", "from 1 to 32"),
    ("check_workers", "two", "whole number from 1 to 32"),
    ("check_request_timeout_s", "0", "from 1 to 3600"),
    ("check_request_timeout_s", "30s", "digits only"),
    ("check_request_timeout_s", "3601", "from 1 to 3600"),
    ("check_max_batch_rows", "0", "from 1 to 1000000"),
    ("check_max_batch_rows", "1e6", "digits only"),
    ("check_max_batch_rows", "1000001", "from 1 to 1000000"),
    ("check_visibility", "Public", "'public' or 'private'"),
    ("check_visibility", "internal", "'public' or 'private'"),
    ("check_visibility", "", "'public' or 'private'"),
    ("check_row_independent", "yes", "'false' or 'true'"),
    ("check_row_independent", "True", "'false' or 'true'"),
    ("check_example", "demo", "'fraud' or 'skeleton'"),
    ("check_price", "-1", "non-negative decimal"),
    ("check_price", "1e-3", "no sign, exponent"),
    ("check_price", ".5", "non-negative decimal"),
    ("check_price", "1.", "non-negative decimal"),
    ("check_price", "01", "leading zero"),
    ("check_price", "1,5", "non-negative decimal"),
    ("check_price", "NaN", "non-negative decimal"),
    ("check_price", "inf", "non-negative decimal"),
    ("check_price", "", "non-negative decimal"),
    ("check_schedule", "* * * *", "has 4 fields instead of 5"),
    ("check_schedule", "* * * * * *", "has 6 fields instead of 5"),
    ("check_schedule", "CRON_TZ=UTC 0 3 * * *", "has 6 fields"),
    ("check_schedule", "60 * * * *", "minute '60'"),
    ("check_schedule", "* 24 * * *", "hour '24'"),
    ("check_schedule", "* * 0 * *", "day of month '0'"),
    ("check_schedule", "* * 32 * *", "day of month '32'"),
    ("check_schedule", "* * * 13 *", "month '13'"),
    ("check_schedule", "* * * * 7", "day of week '7'"),
    ("check_schedule", "*/0 * * * *", "step that is not a number"),
    ("check_schedule", "*/60 * * * *", "step that is not a number from 1 to 59"),
    ("check_schedule", "5-1 * * * *", "start is after its end"),
    ("check_schedule", "* * * * sat-sun", "start is after its end"),
    ("check_schedule", "5/10 * * * *", "step on a single value"),
    ("check_schedule", "* * * foo *", "month 'foo'"),
    ("check_schedule", "jan * * * *", "minute 'jan'"),
    ("check_schedule", "* * * * monday", "day of week 'monday'"),
    ("check_schedule", ",1 * * * *", "minute ''"),
    ("check_schedule", "1- * * * *", "minute '1-'"),
    ("check_schedule", "@reboot", "unknown @ macro"),
    ("check_schedule", "@every 5m", "unknown @ macro"),
    ("check_schedule", "@Daily", "unknown @ macro"),
    ("check_schedule", "0 ３ * * *", "hour '３'"),
]


@pytest.mark.parametrize(("check", "value", "phrase"), REJECTED)
def test_rejected(check: str, value: str, phrase: str) -> None:
    reason = getattr(rules, check)(value)
    assert reason is not None
    assert phrase in reason


@pytest.mark.parametrize("check", sorted({check for check, *_ in REJECTED}))
def test_every_reason_says_what_is_allowed(check: str) -> None:
    values = [value for name, value, _ in REJECTED if name == check]
    for value in values:
        reason = getattr(rules, check)(value)
        assert re.search(r"\bmust be\b", reason), reason


def test_every_check_is_exercised_both_ways() -> None:
    import test_network_rules as network  # the network answers' checks live in their module

    modules = (rules, network.net)
    named = {o: n for m in modules for n, o in vars(m).items() if n.startswith("check_")}
    assert set(rules.CHECKS.values()) <= named.keys()  # every check has a module-level name
    checks = {named[check] for check in rules.CHECKS.values()}
    assert checks <= {check for check, _ in ACCEPTED + network.ACCEPTED}
    assert checks <= {check for check, *_ in REJECTED + network.REJECTED}


# ---------------------------------------------------------------------- the answers together


def test_cpu_limit_must_not_be_below_the_request() -> None:
    problems = rules.validate_answers(default_answers(cpu_request="2", cpu_limit="1500m"))
    assert problems == [
        "invalid answer cpu_limit='1500m': must be at least cpu_request ('2')",
    ]
    assert rules.validate_answers(default_answers(cpu_request="1", cpu_limit="1000m")) == []


def test_each_problem_is_one_line_naming_the_answer_and_value() -> None:
    answers = default_answers(
        project="x" * 41, description="two\nlines", price_per_row="-1", batch_schedule="@reboot"
    )
    problems = rules.validate_answers(answers)
    assert [line.split("=", 1)[0] for line in problems] == [
        "invalid answer project",
        "invalid answer description",
        "invalid answer price_per_row",
        "invalid answer batch_schedule",
    ]
    assert f"project='{'x' * 41}': must be a DNS-1123 label" in problems[0]
    assert "description='two\\nlines': has a line break" in problems[1]
    assert all("\n" not in line for line in problems)


def test_missing_and_non_string_answers_are_reported() -> None:
    answers: dict[str, object] = dict(default_answers())
    del answers["namespace"]
    answers["replicas"] = 2
    assert rules.validate_answers(answers) == [
        "missing answer namespace: cookiecutter.json must define it",
        "invalid answer replicas=2: must be a string",
    ]
