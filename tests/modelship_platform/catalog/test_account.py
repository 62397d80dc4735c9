"""``/account`` and ``/admin`` over billing's API: keys shown once and revoked, usage as CSV,
an owner's revenue, idempotent top-ups and the ledger check (admins only)."""

from __future__ import annotations

import re
from contextlib import contextmanager

import httpx
import pytest
from modelship.catalog.models import Invite, Upload
from modelship.db import make_engine, session_factory
from sqlalchemy import select

from modelship_platform.catalog.stack import COLUMNS, csrf_of, described, platform, signed_in
from modelship_platform.upstream import instant_app, serve_in_thread


@contextmanager
def stack_db(stack):
    engine = make_engine(stack.database_url)
    try:
        with session_factory(engine)() as s:
            yield s
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def model():
    with serve_in_thread(instant_app(described("loans", "olga", "public", "Credit limits"),
                                     signature=COLUMNS, version="3", run_id="r1")) as url:  # fmt: skip
        yield url


@pytest.fixture
def stack(database_url, model):
    with platform(database_url, [model]) as found:
        yield found


def test_keys_usage_and_revenue(stack):
    dora = signed_in(stack.catalog, stack.person("dora"))
    olga = signed_in(stack.catalog, stack.person("olga", role="owner", amount=None))
    token = csrf_of(dora.get("/account"))
    made = dora.post("/account/keys", data={"csrf": token})
    assert made.status_code == 201
    key = re.search(r"<code>(ms_[^<]+)</code>", made.text).group(1)
    assert key not in dora.get("/account").text  # shown once
    api = httpx.Client(base_url=stack.billing, headers={"Authorization": f"Bearer {key}"})
    call = api.post("/v1/models/loans/predict", json={"income": 1, "age": 2, "region": "a"})
    assert call.status_code == 200
    page = dora.get("/account").text
    assert '<dd id="balance">0.998900</dd>' in page and "<td>loans</td>" in page
    usage = dora.get("/account/usage.csv")
    assert usage.headers["content-type"].startswith("text/csv")
    assert usage.text.splitlines()[0].startswith("time,model,route")
    assert len(usage.text.splitlines()) == 2
    prefix = key.split("_")[1]
    revoked = dora.post(f"/account/keys/{prefix}/revoke", data={"csrf": token})
    assert revoked.status_code == 303
    assert api.get("/v1/me").status_code == 401
    revenue = olga.get("/account").text
    assert "Revenue of my models" in revenue and "<td>0.000880</td>" in revenue  # 80% of 0.0011
    assert 'role="img"' in revenue  # the chart


def test_admin_top_ups_are_idempotent_and_admins_only(stack):
    stack.person("erin")
    root = signed_in(stack.catalog, stack.person("root", role="admin", amount=None))
    erin = signed_in(stack.catalog, "erin@example.com")
    assert erin.get("/admin").status_code == 403
    page = root.get("/admin")
    assert "balanced: debits 1.000000, credits 1.000000, open holds 0" in page.text
    key = re.search(r'name="idempotency_key" value="([^"]+)"', page.text).group(1)
    form = {"csrf": csrf_of(page), "idempotency_key": key, "account": "erin", "amount": "2.50"}
    assert root.post("/admin/topups", data=form).status_code == 303
    assert root.post("/admin/topups", data=form).status_code == 303  # a double submit
    assert "debits 3.500000" in root.get("/admin").text
    bad = root.post("/admin/topups", data={**form, "idempotency_key": "k2", "amount": "-1"})
    assert bad.status_code == 422 and "amount" in bad.text


def test_answers_over_the_limit_are_offered_as_a_download(database_url, model):
    with platform(database_url, [model], answer_max_bytes=10) as stack:
        dora = signed_in(stack.catalog, stack.person("dora"))
        token = csrf_of(dora.get("/models/loans"))
        form = {"csrf": token, "income": "1", "age": "2", "region": "a"}
        page = dora.post("/models/loans/predict", data=form)
        assert page.status_code == 200 and "too large to show here" in page.text
        link = re.search(r'href="(/models/loans/batch/[^"]+\.json)"', page.text).group(1)
        assert dora.get(link).json() == [{"predictions": [0]}]  # the instant model's answer
        stranger = signed_in(stack.catalog, stack.person("eve"))
        assert stranger.get(link).status_code == 404  # one's answers are one's own


def test_a_file_over_the_size_limit_is_refused_with_a_413(database_url, model):
    with platform(database_url, [model], upload_max_bytes=100) as stack:
        dora = signed_in(stack.catalog, stack.person("dora"))
        page = dora.get("/models/loans")
        assert 'data-max-bytes="100"' in page.text  # checked in the browser too
        rows = b"income,age,region\n" + b"1,2,north\n" * 20
        refused = dora.post("/models/loans/batch", data={"csrf": csrf_of(page)},
                            files={"file": ("rows.csv", rows, "text/csv")})  # fmt: skip
        assert refused.status_code == 413 and "file: larger than 100 bytes" in refused.text


def test_a_batch_above_the_interactive_rows_is_left_to_an_async_job(database_url, model):
    with platform(database_url, [model], interactive_rows=1) as stack:
        dora = signed_in(stack.catalog, stack.person("dora"))
        token = csrf_of(dora.get("/models/loans"))
        rows = b'[{"income": 1, "age": 2, "region": "a"}, {"income": 3, "age": 4, "region": "b"}]'
        checked = dora.post("/models/loans/batch", data={"csrf": token},
                            files={"file": ("rows.json", rows, "application/json")})  # fmt: skip
        assert "2 rows, all valid" in checked.text
        assert "runs as an async job" in checked.text and "Predict 2 rows" not in checked.text
        upload = re.search(r"/models/loans/batch/([^/]+)/run", checked.text)
        assert upload is None  # no button; and the route refuses it too:
        with stack_db(stack) as s:
            (stored,) = s.scalars(select(Upload.token)).all()
        refused = dora.post(f"/models/loans/batch/{stored}/run", data={"csrf": token})
        assert refused.status_code == 413 and "async job" in refused.text
        assert stack.admin.get("/v1/admin/ledger").json()["debits"] == "1.000000"


def test_an_admin_invite_link_sets_a_password_once(stack):
    root = signed_in(stack.catalog, stack.person("root", role="admin", amount=None))
    assert stack.admin.post("/v1/accounts", json={"name": "fay", "role": "consumer",
                                                  "email": "fay@example.com"}).status_code == 201  # fmt: skip
    made = root.post("/admin/invites", data={"csrf": csrf_of(root.get("/admin")), "account": "fay"})
    assert made.status_code == 201
    link = re.search(r'<code class="invite-link">([^<]+)</code>', made.text).group(1)
    fay = httpx.Client(timeout=30)
    page = fay.get(link)
    assert page.status_code == 200 and '<label for="password">Password</label>' in page.text
    short = fay.post(link, data={"csrf": csrf_of(page), "password": "short"})
    assert short.status_code == 422 and "password: at least 8 characters" in short.text
    done = fay.post(link, data={"csrf": csrf_of(page), "password": "fay's own passphrase"})
    assert done.status_code == 303
    assert fay.get(link).status_code == 404  # once
    signed_in(stack.catalog, "fay@example.com", "fay's own passphrase")
    with stack_db(stack) as s:
        stored = s.scalars(select(Invite.token_sha256)).one()
    assert stored != link.rsplit("/", 1)[1]  # only its hash is kept


def test_the_model_page_links_the_mlflow_ui_when_set(database_url, model):
    with platform(database_url, [model], mlflow_ui_url="https://mlflow.example.com/") as stack:
        page = httpx.get(f"{stack.catalog}/models/loans").text
        assert 'href="https://mlflow.example.com/#/models/loans/versions/3"' in page
        assert "r1" in page
    with platform(database_url, [model]) as stack:
        assert "open in MLflow" not in httpx.get(f"{stack.catalog}/models/loans").text
