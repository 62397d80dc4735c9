"""The baked repo's kustomize manifests, rendered with kubectl and validated offline.

For several answer sets (Ingress, GPU and both schedules on and off): every rendered document
passes kubernetes-validate in strict mode, the rendered kinds follow the answers, and the
policy holds (restricted, sized pods; selectors that select the server pods; probes on real
routes of the app). The last tests feed deliberately broken variants and see them caught.
"""

from __future__ import annotations

import ast
import copy
import shutil
import sys
from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from gitops import crds, policy
from gitops.repos import ANSWER_SETS, answers, app_routes, baked, rendered
from gitops.tools import kustomize, run

# ~35 s: reading the app's routes trains and loads a demo model once (the rest takes ~10 s).
pytestmark = pytest.mark.slow

SETS = list(ANSWER_SETS)
K8S_VERSIONS = ("1.32.0", "1.35.0")
# The first tag CI must replace: no registry holds it, and it is never "latest".
PLACEHOLDER_TAG = "ci-must-set-this-tag"
CONDITIONAL = {
    "ingress.yaml": "ingress_host",
    "cronjob-retrain.yaml": "retrain_schedule",
    "cronjob-batch.yaml": "batch_schedule",
    "servicemonitor.yaml": "service_monitor",
}


def _on(answer: str) -> bool:
    return answer not in ("", "false")


def _strict_errors(docs) -> list[str]:
    # kubernetes-validate knows the core kinds only; the Prometheus Operator's are checked alone.
    monitoring = [d for d in docs if d["apiVersion"] == crds.GROUP_VERSION]
    errors = crds.validate(monitoring) if monitoring else []
    for doc in (d for d in docs if d["apiVersion"] != crds.GROUP_VERSION):
        for version in K8S_VERSIONS:
            try:
                kubernetes_validate.validate(doc, version, strict=True)
            except kubernetes_validate.ValidationError as exc:
                errors.append(f"{policy.name_of(doc)} @ {version}: {exc.message}")
    return errors


@pytest.mark.parametrize("name", SETS)
def test_every_document_is_strictly_valid(name: str) -> None:
    docs = rendered(name)
    assert docs
    assert _strict_errors(docs) == []


@pytest.mark.parametrize("name", SETS)
def test_rendered_kinds_follow_the_answers(name: str) -> None:
    given = answers(name)
    kinds = sorted(doc["kind"] for doc in rendered(name))
    expected = [
        "ConfigMap", "Deployment", "HorizontalPodAutoscaler", "NetworkPolicy",
        "PodDisruptionBudget", "Service", "ServiceAccount",
    ]  # fmt: skip
    expected += ["Ingress"] * bool(given["ingress_host"])
    expected += ["CronJob"] * (bool(given["retrain_schedule"]) + bool(given["batch_schedule"]))
    expected += ["ServiceMonitor"] * _on(given["service_monitor"])
    assert kinds == sorted(expected)
    for doc in rendered(name):
        assert doc["metadata"]["namespace"] == given["namespace"]
        labels = doc["metadata"]["labels"]
        assert labels["app.kubernetes.io/name"] == given["project"]
        assert labels["modelship.io/model"] == given["project"]


@pytest.mark.parametrize("name", SETS)
def test_kustomization_lists_exactly_the_files_the_hook_keeps(name: str) -> None:
    folder = baked(name) / "argocd" / "manifests"
    kustomization = yaml.safe_load((folder / "kustomization.yaml").read_text())
    on_disk = {p.name for p in folder.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == on_disk
    given = answers(name)
    for file, answer in CONDITIONAL.items():
        assert (file in on_disk) == _on(given[answer]), file


@pytest.mark.parametrize("name", SETS)
def test_resources_follow_the_answers(name: str) -> None:
    given = answers(name)
    gpus = int(given["gpu_count"])
    for workload, pod in policy.pod_templates(list(rendered(name))):
        for container in pod["spec"]["containers"]:
            resources = container["resources"]
            assert resources["requests"]["cpu"] == given["cpu_request"], workload
            assert resources["limits"]["cpu"] == given["cpu_limit"], workload
            assert resources["limits"]["memory"] == given["memory"], workload
            assert resources["limits"].get("nvidia.com/gpu") == (str(gpus) if gpus else None)
            assert container["image"] == f"{given['image']}:{PLACEHOLDER_TAG}"
    hpa = next(d for d in rendered(name) if d["kind"] == "HorizontalPodAutoscaler")
    assert hpa["spec"]["minReplicas"] == int(given["replicas"])
    for cron in (d for d in rendered(name) if d["kind"] == "CronJob"):
        spec, job = cron["spec"], cron["spec"]["jobTemplate"]["spec"]
        assert spec["concurrencyPolicy"] == "Forbid"
        assert spec["startingDeadlineSeconds"] > 0
        assert {"backoffLimit", "activeDeadlineSeconds", "ttlSecondsAfterFinished"} <= set(job)
        assert spec["schedule"] in (given["retrain_schedule"], given["batch_schedule"])


def _settings_env_names(name: str) -> set[str]:
    """The environment variables the baked service reads: the fields of its Settings."""
    package = answers(name)["package"]
    tree = ast.parse((baked(name) / "src" / package / "settings.py").read_text())
    settings = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Settings")
    return {f.target.id.upper() for f in settings.body if isinstance(f, ast.AnnAssign)}


@pytest.mark.parametrize("name", SETS)
def test_config_is_read_by_the_service_and_shutdown_is_graceful(name: str) -> None:
    docs, given = rendered(name), answers(name)
    config = next(d for d in docs if d["kind"] == "ConfigMap")["data"]
    assert set(config) <= _settings_env_names(name)
    assert (
        config["MODEL_URI"] == f"models:/{given['mlflow_model_name']}@{given['mlflow_model_alias']}"
    )
    assert config["HOST"] == "0.0.0.0"
    pod = _deployment(list(docs))["spec"]["template"]["spec"]
    pre_stop = pod["containers"][0]["lifecycle"]["preStop"]["sleep"]["seconds"]
    graceful = float(config["GRACEFUL_TIMEOUT_S"])
    assert graceful > float(config["REQUEST_TIMEOUT_S"])
    assert pod["terminationGracePeriodSeconds"] > pre_stop + graceful


@pytest.mark.parametrize("name", SETS)
def test_pods_are_restricted_and_selected(name: str) -> None:
    docs = list(rendered(name))
    assert policy.restricted_violations(docs) == []
    assert policy.selector_violations(docs) == []
    deployment = next(d for d in docs if d["kind"] == "Deployment")
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    assert volumes["tmp"]["emptyDir"]["medium"] == "Memory"
    # The model downloads to the node's disk, bounded by the answer, not to memory.
    downloads = volumes["downloads"]["emptyDir"]
    assert downloads == {"sizeLimit": answers(name)["download_size"]}
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert {"name": "TMPDIR", "value": mounts["downloads"]} in container["env"]


@pytest.mark.parametrize("name", SETS)
def test_probes_hit_real_routes_of_the_app(name: str) -> None:
    routes = app_routes()
    assert {"/health/live", "/health/ready"} <= routes
    assert policy.probe_violations(list(rendered(name)), routes) == []


def test_bump_script_changes_exactly_the_rendered_tag(tmp_path: Path) -> None:
    repo = baked("everything-on")
    manifests = tmp_path / "manifests"
    shutil.copytree(repo / "argocd" / "manifests", manifests)
    before = (manifests / "kustomization.yaml").read_text()
    done = run(
        [
            sys.executable,
            "scripts/bump_image_tag.py",
            "sha-0123456789abcdef",
            "--file",
            str(manifests / "kustomization.yaml"),
        ],
        cwd=repo,
    )
    assert done.returncode == 0, done.stderr
    after = (manifests / "kustomization.yaml").read_text()
    changed = [
        (a, b) for a, b in zip(before.splitlines(), after.splitlines(), strict=True) if a != b
    ]
    assert changed == [(f'    newTag: "{PLACEHOLDER_TAG}"', '    newTag: "sha-0123456789abcdef"')]
    docs = kustomize(manifests)
    image = f"{answers('everything-on')['image']}:sha-0123456789abcdef"
    images = [
        c["image"] for _, pod in policy.pod_templates(docs) for c in pod["spec"]["containers"]
    ]
    assert images and set(images) == {image}
    config = next(d for d in docs if d["kind"] == "ConfigMap")
    assert config["data"]["IMAGE_TAG"] == "sha-0123456789abcdef"
    # Nothing else differs from the manifests as baked.
    untagged = yaml.safe_dump_all(docs).replace("sha-0123456789abcdef", PLACEHOLDER_TAG)
    assert untagged == yaml.safe_dump_all(rendered("everything-on"))


def _deployment(docs: list[dict]) -> dict:
    return next(d for d in docs if d["kind"] == "Deployment")


def _container(docs: list[dict]) -> dict:
    return _deployment(docs)["spec"]["template"]["spec"]["containers"][0]


def _privileged(docs: list[dict]) -> None:
    _container(docs)["securityContext"]["privileged"] = True


def _unsized(docs: list[dict]) -> None:
    del _container(docs)["resources"]["limits"]


def _probe_on_missing_route(docs: list[dict]) -> None:
    _container(docs)["livenessProbe"]["httpGet"]["path"] = "/healthz"


def _service_selects_jobs(docs: list[dict]) -> None:
    service = next(d for d in docs if d["kind"] == "Service")
    service["spec"]["selector"]["app.kubernetes.io/component"] = "retrain"


def _misspelt_field(docs: list[dict]) -> None:
    _container(docs)["imagePullPolicey"] = "Always"


def _all_checks(docs: list[dict]) -> list[str]:
    return (
        _strict_errors(docs)
        + policy.restricted_violations(docs)
        + policy.selector_violations(docs)
        + policy.probe_violations(docs, app_routes())
    )


@pytest.mark.parametrize(
    ("break_it", "expected"),
    [
        (_privileged, "privileged"),
        (_unsized, "no limits"),
        (_probe_on_missing_route, "/healthz is not a route of the app"),
        (_service_selects_jobs, "Service/credit-scorer: selects"),
        (_misspelt_field, "imagePullPolicey"),
    ],
)
def test_broken_variants_are_caught(break_it, expected: str) -> None:
    docs = copy.deepcopy(list(rendered("everything-on")))
    assert _all_checks(docs) == []
    break_it(docs)
    assert any(expected in error for error in _all_checks(docs)), _all_checks(docs)


@pytest.mark.parametrize("name", [n for n in SETS if ANSWER_SETS[n].get("ingress_host")])
def test_ingress_exposes_only_the_prediction_routes(name: str) -> None:
    [ingress] = [d for d in rendered(name) if d["kind"] == "Ingress"]
    paths = [p for rule in ingress["spec"]["rules"] for p in rule["http"]["paths"]]
    assert {p["pathType"] for p in paths} == {"Exact"}
    exposed = {p["path"] for p in paths}
    assert exposed == {"/predict", "/predict/batch", "/invocations"}
    assert exposed <= app_routes()
