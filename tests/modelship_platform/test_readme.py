"""The README's Platform curl session, run as written against a real gateway on loopback."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from modelship.billing.app import create_app
from modelship.settings import Settings

from modelship_platform.upstream import card, instant_app, serve_in_thread

ROOT = Path(__file__).resolve().parents[2]
README_GW = "http://127.0.0.1:8080"
README_ADMIN_KEY = "change-me"


def platform_blocks() -> list[str]:
    section = (ROOT / "README.md").read_text(encoding="utf-8").split("## Platform\n", 1)[1]
    section = section.split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.*?)```", section, flags=re.DOTALL)


@pytest.mark.skipif(not (shutil.which("curl") and shutil.which("jq")), reason="needs curl, jq")
def test_the_curl_session_runs_as_written(database_url, tmp_path):
    serve, session = platform_blocks()
    assert f"MODELSHIP_ADMIN_KEY={README_ADMIN_KEY}" in serve and README_GW in session
    model = card("fraud-detector", "olga", "public", "0.001", "0.0001")
    with serve_in_thread(instant_app(model)) as upstream:
        settings = Settings(
            database_url=database_url, models=[upstream], admin_key=README_ADMIN_KEY
        )
        with serve_in_thread(create_app(settings)) as url:
            done = subprocess.run(
                ["bash", "-euo", "pipefail", "-c", session.replace(README_GW, url)],
                cwd=tmp_path,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
    out = done.stdout.lower()
    assert done.returncode == 0, done.stdout + done.stderr
    assert "x-modelship-charge: 0.001200" in out  # 0.001 per call + 2 rows x 0.0001
    assert '"balance":"4.998800"' in out
    assert "time,model,route,rows,status,charge,request_id" in out
    assert '"spend":"0.001200"' in out
    assert out.rstrip().endswith('"open_holds":0}') and '"balanced":true' in out
