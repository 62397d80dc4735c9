"""The README's scheduler curl session, run as written against billing and the scheduler on
loopback (with the key the billing session makes)."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from modelship_platform.scheduler_parts import customer, platform
from modelship_platform.test_readme import ROOT
from modelship_platform.upstream import card, instant_app, serve_in_thread

README_JOBS = "http://127.0.0.1:8300"


def scheduler_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("### Scheduler\n", 1)[1].split("\n## ", 1)[0].split("\n### ", 1)[0]
    return re.findall(r"```shell\n(.*?)```", section, flags=re.DOTALL)


@pytest.mark.skipif(not (shutil.which("curl") and shutil.which("jq")), reason="needs curl, jq")
def test_the_scheduler_session_runs_as_written(tmp_path):
    serve, session = scheduler_blocks()
    assert "modelship scheduler" in serve and README_JOBS in session
    model = card("fraud-detector", "olga", "public", "0.001", "0.0001")
    with (
        serve_in_thread(instant_app(model)) as upstream,
        platform(f"sqlite:///{tmp_path / 'm.db'}", [upstream], tmp_path / "r")
        as (url, admin, billing_url),
    ):  # fmt: skip
        billing, _jobs = customer(billing_url, admin, url)
        key = billing.headers["authorization"].split()[1]
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", f"KEY={key}\n" + session.replace(README_JOBS, url)],
            cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
    out = done.stdout
    assert done.returncode == 0, done.stdout + done.stderr
    assert '"status":"succeeded"' in out and '"charge":"0.001200"' in out
    assert '"amount","merchant_category","prediction"\n120.5,"fuel",0\n9.99,"grocery",0' in out
    assert '"cron":"0 6 * * *"' in out and '"input_uri":"sql://warehouse?..."' in out
    assert '"model_cards":[]' in out
