"""The README's quick start: exactly `make demo` and `make test`, and `make demo` really serves."""

import json
import os
import re
import socket
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_quick_start_is_exactly_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    quick_start = readme.split("## Quick start", 1)[1].split("##", 1)[0]
    block = re.search(r"```bash\n(.*?)```", quick_start, flags=re.DOTALL).group(1)
    commands = [line.split("#")[0].strip() for line in block.splitlines() if line.strip()]
    assert commands == ["make demo", "make test"]


def test_make_demo_prints_a_prediction_from_the_served_model(tmp_path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = os.environ | {
        "DEMO_EXIT_AFTER_SAMPLE": "1",
        "DEMO_DIR": str(tmp_path),
        "DEMO_PORT": str(port),
        "DEMO_TRAIN_ROWS": "2000",
    }
    done = subprocess.run(
        ["make", "--no-print-directory", "demo"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    answer = re.search(r"^-> (\{.*\})$", done.stdout, flags=re.MULTILINE)
    assert answer, done.stdout[-3000:]
    body = json.loads(answer.group(1))
    assert set(body["prediction"]) == {"is_fraud", "fraud_probability", "confidence"}
    assert body["model"] == {"name": "fraud-detector", "version": "1"}
    assert f"http://127.0.0.1:{port}/docs" in done.stdout
    assert f"http://127.0.0.1:{port}/metrics" in done.stdout
    assert (tmp_path / "fraud-detector" / "mlflow.db").is_file()
    up_to_answer = done.stdout[: answer.end()].splitlines()
    assert len(up_to_answer) <= 40, "\n".join(up_to_answer)  # quiet: steps, request, answer
    assert "+ " not in done.stdout and "Next steps" not in done.stdout
