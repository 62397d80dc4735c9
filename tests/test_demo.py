"""The README's quick start: exactly `make demo` and `make test`, and `make demo` really serves."""

import json
import os
import re
import socket
import subprocess
from pathlib import Path

import pytest

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


@pytest.mark.slow
def test_make_demo_ends_with_the_catalog_and_its_demo_sign_in_works(tmp_path) -> None:
    """The whole `make demo`, as a user runs it: it ends with the catalog URL and a demo
    sign-in; in Chromium, that sign-in opens the catalog and a prediction through its form
    works (and is billed)."""
    import queue
    import signal
    import threading

    from modelship_platform.catalog.browser import chromium, sign_in

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # the demo takes this port and the next three
    env = os.environ | {"DEMO_DIR": str(tmp_path), "DEMO_PORT": str(port),
                        "DEMO_TRAIN_ROWS": "2000"}  # fmt: skip
    env.pop("DEMO_EXIT_AFTER_SAMPLE", None)
    demo = subprocess.Popen(
        ["make", "--no-print-directory", "demo"], cwd=ROOT, env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    lines: queue.Queue[str] = queue.Queue()  # "" when the demo's output ends

    def read() -> None:
        for line in demo.stdout:
            lines.put(line)
        lines.put("")

    threading.Thread(target=read, daemon=True).start()
    seen: list[str] = []
    try:
        while not any(line.startswith("Serving until Ctrl-C") for line in seen):
            try:
                seen.append(lines.get(timeout=900))
            except queue.Empty:
                raise AssertionError("".join(seen)[-3000:]) from None
            assert seen[-1], "the demo stopped early:\n" + "".join(seen)[-3000:]
        output = "".join(seen)
        catalog = re.search(r"^Catalog:\s+(http://\S+)$", output, flags=re.MULTILINE).group(1)
        email, password = re.search(r"^Sign in:\s+(\S+) / (\S+)$", output, re.MULTILINE).groups()
        assert re.search(r"-> \{.*\} \(charged 0\.002500\)$", output, flags=re.MULTILINE)
        assert len([line for line in seen if line.strip()]) <= 30, output  # quiet
        with chromium() as browser:
            page = sign_in(browser, catalog, email, password)
            assert page.get_by_role("link", name="fraud-detector").is_visible()
            page.get_by_role("link", name="credit-limit").click()
            page.get_by_role("button", name="Predict").click()
            assert "Prediction (charged 0.002500)" in page.get_by_role("status").first.inner_text()
            page.goto("/account")
            assert page.locator("#balance").inner_text() == "9.995000"  # 10 - 2 calls
    finally:
        os.killpg(demo.pid, signal.SIGINT)  # Ctrl-C: the demo stops its servers
        try:
            demo.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(demo.pid, signal.SIGKILL)
            demo.wait()
