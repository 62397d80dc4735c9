"""The catalog in a real browser (headless Chromium) against a real baked model service, real
billing and instant stand-ins for a private and a hostile model: sign-in, the list and its
search, a prediction through the form, a CSV with a bad row (nothing charged) then a good one
(table, chart, CSV download), balance and usage that match exactly, a private model absent
for a stranger and present for a grantee, a hostile description shown as text."""

from __future__ import annotations

import base64
import csv
import os
import shutil
from pathlib import Path

import pytest

from modelship_platform.catalog.browser import chromium, sign_in
from modelship_platform.catalog.stack import COLUMNS, PASSWORD, XSS, described, platform
from modelship_platform.test_baked_model import RECORD
from modelship_platform.upstream import instant_app, serve_in_thread

pytestmark = pytest.mark.timeout(600)
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


@pytest.fixture(scope="module")
def stack(tmp_path_factory, model_service):
    """Billing and the catalog before the baked fraud-detector (conftest's, shared with the
    gateway's tests), a private model and a hostile one."""
    private = instant_app(
        described("secret-b", "pete", "private", "Pete's model"), signature=COLUMNS
    )
    hostile = instant_app(described("xss-model", "olga", "public", XSS), signature=COLUMNS)
    photos = instant_app(described("photo-tagger", "olga", "public", "Tags photos"),
                         signature={"inputs": [{"type": "binary", "name": "photo"}]})  # fmt: skip
    url = f"sqlite:///{tmp_path_factory.mktemp('catalog') / 'modelship.db'}"
    with (
        serve_in_thread(private) as p,
        serve_in_thread(hostile) as h,
        serve_in_thread(photos) as f,
        platform(url, [model_service, p, h, f]) as found,
    ):
        found.person("pete", role="owner", amount=None)
        yield found


def _csv(path: Path, rows: list[dict]) -> Path:
    with path.open("w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(RECORD))
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_a_business_user_in_the_browser(stack, tmp_path):
    email = stack.person("dora")
    with chromium() as browser:
        page = sign_in(browser, stack.catalog, email, PASSWORD)
        dialogs = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        assert page.get_by_role("link", name="fraud-detector").is_visible()
        assert page.get_by_role("link", name="secret-b").count() == 0

        page.get_by_label("Search").fill("fraud")
        page.get_by_role("button", name="Search").click()
        assert page.get_by_role("link", name="fraud-detector").is_visible()
        assert page.get_by_role("link", name="xss-model").count() == 0

        page.get_by_role("link", name="fraud-detector").click()
        openapi = page.request.get(
            page.get_by_role("link", name="the service's OpenAPI").get_attribute("href")
        )
        assert "/predict/batch" in openapi.json()["paths"]  # the service's own, via the catalog
        page.screenshot(path=tmp_path / "model-page.png", full_page=True)
        if target := os.environ.get("MODELSHIP_SCREENSHOT_TO"):  # docs/img/catalog-model.png
            shutil.copy(tmp_path / "model-page.png", target)
        assert (tmp_path / "model-page.png").stat().st_size > 10_000
        assert page.get_by_label("hour").get_attribute("step") == "1"
        page.get_by_role("button", name="Predict").click()
        status = page.get_by_role("status").first
        assert "Prediction (charged 0.001100)" in status.inner_text()
        page.get_by_text("Raw JSON").click()
        assert '"model"' in page.locator("#result pre").inner_text()

        bad = {**RECORD, "hour": "noon"}
        page.get_by_label("File").set_input_files(_csv(tmp_path / "bad.csv", [RECORD, bad]))
        page.get_by_role("button", name="Check file").click()
        alert = page.locator(".bad-rows")
        assert (
            "line 3" in alert.inner_text() and "hour: must be a whole number" in alert.inner_text()
        )
        assert stack.admin.get("/v1/admin/ledger").json()["debits"] == "1.001100"

        good = [RECORD, {**RECORD, "amount": 4000.0}, {**RECORD, "hour": 3}]
        page.get_by_label("File").set_input_files(_csv(tmp_path / "good.csv", good))
        page.get_by_role("button", name="Check file").click()
        assert "3 rows, all valid" in page.locator(".row-count").inner_text()
        page.get_by_role("button", name="Predict 3 rows").click()
        assert "3 predictions (charged 0.001300)" in page.locator(".batch-result").inner_text()
        assert page.locator("table.results tbody tr").count() == 3
        assert page.locator("figure.chart svg rect").count() >= 2
        with page.expect_download() as download:
            page.get_by_role("link", name="Download CSV").click()
        rows = list(csv.DictReader(Path(download.value.path()).read_text().splitlines()))
        assert [float(r["amount"]) for r in rows] == [50.0, 4000.0, 50.0]
        assert all(any(k.startswith("prediction") and v != "" for k, v in r.items()) for r in rows)

        page.goto("/models/photo-tagger")  # a binary column: a file, previewed from a blob: URL
        page.get_by_label("photo").set_input_files(
            files=[{"name": "dot.png", "mimeType": "image/png", "buffer": PNG}]
        )
        preview = page.get_by_alt_text("preview of photo")
        preview.wait_for(state="visible")
        assert preview.get_attribute("src").startswith("blob:")
        page.get_by_role("button", name="Predict").click()
        assert "charged 0.001100" in page.get_by_role("status").first.inner_text()

        page.goto("/account")
        assert page.locator("#balance").inner_text() == "0.996500"  # 1 - 0.0011 - 0.0013 - 0.0011
        usage = page.locator("table.usage tbody tr")
        assert usage.count() == 3
        assert sorted(usage.nth(i).locator("td").nth(5).inner_text() for i in range(3)) == [
            "0.001100", "0.001100", "0.001300"
        ]  # fmt: skip

        page.goto("/models/xss-model")
        assert page.locator(".description").inner_text() == XSS
        assert dialogs == []

        keyboard = browser.new_context(base_url=stack.catalog).new_page()  # no mouse at all
        keyboard.goto("/login")
        keyboard.get_by_label("Email").focus()
        keyboard.keyboard.type(stack.person("gus"))
        keyboard.keyboard.press("Tab")
        keyboard.keyboard.type(PASSWORD)
        keyboard.keyboard.press("Enter")
        keyboard.wait_for_url(f"{stack.catalog}/")
        assert "Signed in as gus" in keyboard.content()

        stranger = sign_in(browser, stack.catalog, stack.person("carol"), PASSWORD)
        assert stranger.get_by_role("link", name="secret-b").count() == 0
        assert stranger.goto("/models/secret-b").status == 404
        owner = sign_in(browser, stack.catalog, "pete@example.com", PASSWORD)
        owner.goto("/account")
        owner.get_by_label("Account").fill("carol")
        owner.get_by_role("button", name="Grant").click()
        assert "carol" in owner.locator("table.grants").inner_text()
        stranger.goto("/")
        assert stranger.get_by_role("link", name="secret-b").is_visible()
        assert stranger.goto("/models/secret-b").status == 200
