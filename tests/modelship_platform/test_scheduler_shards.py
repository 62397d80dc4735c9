"""The Indexed Job the scheduler renders for big inputs: strictly valid for the Kubernetes
versions the model manifests are checked against, restricted like the model's own pods, one
shard per completion index. (Running shards as processes against one run is in the baked
repo's own suite: tests/service/test_score_files.py.)"""

from __future__ import annotations

from datetime import UTC, datetime

from gitops import policy
from modelship.card import ModelCard
from modelship.scheduler.indexed_job import render_indexed_job, shard_count
from modelship.settings import Settings
from test_manifests import _strict_errors

from modelship_platform.scheduler_parts import SCORER, customer, platform, scoring_app
from modelship_platform.upstream import serve_in_thread

WHEN = datetime(2030, 1, 2, 3, 4, tzinfo=UTC)


def test_rendered_indexed_job_is_valid_and_restricted():
    settings = Settings(shard_rows=1_000_000, shard_parallelism=4)
    card = ModelCard.model_validate(SCORER)
    shards = shard_count(7_500_000, settings)
    job = render_indexed_job(card, "s3://in/", "s3://out/", WHEN, shards, settings)
    assert _strict_errors([job]) == []
    assert policy.restricted_violations([job]) == []
    spec = job["spec"]
    assert (spec["completionMode"], spec["completions"], spec["parallelism"]) == ("Indexed", 8, 4)
    assert job["metadata"] == {
        "name": "scorer-shards-203001020304", "namespace": "models",
        "labels": job["spec"]["template"]["metadata"]["labels"],
    }  # fmt: skip
    container = spec["template"]["spec"]["containers"][0]
    assert container["image"] == "ghcr.io/example/scorer:1" and container["command"] == ["batch"]
    assert {"name": "SHARD_COUNT", "value": "8"} in container["env"]
    assert container["args"][-2:] == ["--scheduled-time", WHEN.isoformat()]


def test_shards_api_is_for_admins(tmp_path):
    with (
        serve_in_thread(scoring_app(SCORER)) as scorer,
        platform(f"sqlite:///{tmp_path / 'm.db'}", [scorer], tmp_path / "r", shard_rows=100)
        as (url, admin, billing_url),
    ):  # fmt: skip
        _billing, jobs = customer(billing_url, admin, url)
        body = {"model": "scorer", "input_uri": "s3://in/", "output_uri": "s3://out/",
                "scheduled_time": WHEN.isoformat(), "rows": 250}  # fmt: skip
        assert jobs.post("/v1/shards", json=body).status_code == 403
        rendered = jobs.post("/v1/shards", json=body, headers=admin.headers)
        assert rendered.status_code == 200, rendered.text
        assert rendered.json()["shards"] == 3 and rendered.json()["created"] is None
        assert _strict_errors([rendered.json()["job"]]) == []
        missing = jobs.post("/v1/shards", json={**body, "model": "nope"}, headers=admin.headers)
        assert missing.status_code == 404 and "model" in missing.json()["detail"]
