"""The catalog over HTTP against real billing and instant model services: sign-in, CSRF,
escaping of model texts, private models a 404 to strangers, batch files checked before any
charge. The browser tests drive the same pages in Chromium."""

from __future__ import annotations

import httpx
import pytest

from modelship_platform.catalog.stack import (
    COLUMNS,
    EXAMPLE,
    PASSWORD,
    XSS,
    csrf_of,
    described,
    platform,
    signed_in,
)
from modelship_platform.upstream import instant_app, serve_in_thread

TENSOR = {"inputs": [{"type": "tensor", "tensor-spec": {"dtype": "float64", "shape": [-1, 3]}}]}


@pytest.fixture(scope="module")
def models():
    apps = [
        instant_app(described("loans", "olga", "public", "Credit limits"),
                    signature=COLUMNS, input_example=EXAMPLE),
        instant_app(described("xss-model", "olga", "public", XSS),
                    signature={"inputs": [{"type": "string", "name": XSS}]}),
        instant_app(described("secret-b", "pete", "private", "Pete's private model"),
                    signature=COLUMNS),
        instant_app(described("tensorish", "olga", "public", "A tensor model"), signature=TENSOR),
    ]  # fmt: skip
    with (
        serve_in_thread(apps[0]) as a,
        serve_in_thread(apps[1]) as b,
        serve_in_thread(apps[2]) as c,
        serve_in_thread(apps[3]) as d,
    ):
        yield [a, b, c, d]


@pytest.fixture
def stack(database_url, models):
    with platform(database_url, models) as found:
        yield found


def test_sign_in_session_is_a_short_lived_billing_key(stack):
    email = stack.person("alice")
    anon = httpx.Client(base_url=stack.catalog)
    login = anon.get("/login")
    assert '<label for="email">Email</label>' in login.text
    assert '<label for="password">Password</label>' in login.text
    assert "Content-Security-Policy" in login.headers
    wrong = anon.post(
        "/login", data={"email": email, "password": "nope-nope", "csrf": csrf_of(login)}
    )
    assert wrong.status_code == 401 and "no account with that email and password" in wrong.text
    alice = signed_in(stack.catalog, email)
    cookie = next(c for c in alice.cookies.jar if c.name == "ms_session")
    assert cookie.has_nonstandard_attr("HttpOnly")
    set_cookie = [h for k, h in alice.get("/").headers.multi_items() if k == "set-cookie"]
    keys = stack.admin.get("/v1/accounts/alice/keys").json()
    assert len(keys) == 1 and keys[0]["expires_at"] is not None
    assert "Signed in as alice" in alice.get("/").text
    assert set_cookie == []  # the session cookie is not re-sent on every page
    logout = alice.post("/logout", data={"csrf": csrf_of(alice.get("/"))})
    assert logout.status_code == 303
    assert stack.admin.get("/v1/accounts/alice/keys").json() == []  # revoked at logout


def test_failed_sign_ins_are_throttled_per_email(database_url, models):
    with platform(database_url, models, sign_in_failures=3, sign_in_window_s=600) as stack:
        email = stack.person("gina")
        anon = httpx.Client(base_url=stack.catalog)

        def attempt(address: str, password: str) -> httpx.Response:
            token = csrf_of(anon.get("/login"))
            return anon.post("/login", data={"email": address, "password": password, "csrf": token})

        assert [attempt(email, f"guess-{i}").status_code for i in range(3)] == [401] * 3
        refused = attempt(email.upper(), PASSWORD)  # even the right password, any case
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
        assert "Too many failed sign-ins" in refused.text
        other = stack.person("hugo")
        assert attempt(other, PASSWORD).status_code == 303  # another email is not affected


def test_a_post_without_the_csrf_token_is_refused(stack):
    email = stack.person("bob")
    bob = signed_in(stack.catalog, email)
    for path, data in [("/models/loans/predict", {"income": "1", "age": "2", "region": "x"}),
                       ("/logout", {}), ("/account/keys", {})]:  # fmt: skip
        refused = bob.post(path, data=data)
        assert refused.status_code == 403, path
        assert "csrf" in refused.text
        refused = bob.post(path, data={**data, "csrf": "forged"})
        assert refused.status_code == 403, path
    assert stack.admin.get("/v1/admin/ledger").json()["debits"] == "1.000000"  # the top-up only


def test_model_texts_are_escaped(stack):
    page = httpx.get(f"{stack.catalog}/models/xss-model")
    assert page.status_code == 200
    assert XSS not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert XSS not in httpx.get(f"{stack.catalog}/", params={"q": XSS}).text


def test_private_models_are_a_404_to_strangers_on_every_page(stack):
    stack.person("pete", role="owner", amount=None)
    carol = signed_in(stack.catalog, stack.person("carol"))
    for client in (httpx.Client(base_url=stack.catalog), carol):
        assert "secret-b" not in client.get("/").text
        for path in ("/models/secret-b", "/models/secret-b/openapi.json"):
            assert client.get(path).status_code == 404, path
        token = csrf_of(client.get("/login"))
        assert client.post("/models/secret-b/predict", data={"csrf": token}).status_code in (
            401,
            404,
        )
    pete = signed_in(stack.catalog, "pete@example.com")
    assert "secret-b" in pete.get("/").text
    grant = pete.post("/account/grants", data={"model": "secret-b", "account": "carol",
                                                "csrf": csrf_of(pete.get("/account"))})  # fmt: skip
    assert grant.status_code == 303, grant.text
    assert carol.get("/models/secret-b").status_code == 200
    assert "secret-b" in carol.get("/").text


def test_list_search_filter_and_sort(stack):
    anon = httpx.Client(base_url=stack.catalog)
    everything = anon.get("/").text
    assert all(n in everything for n in ("loans", "xss-model", "tensorish"))
    found = anon.get("/", params={"q": "credit"}).text
    assert "loans" in found and "tensorish" not in found
    assert "loans" not in anon.get("/", params={"owner": "nobody"}).text
    assert anon.get("/", params={"sort": "sideways"}).status_code == 422


def test_one_record_and_a_batch_file_through_billing(stack):
    email = stack.person("dora")
    dora = signed_in(stack.catalog, email)
    page = dora.get("/models/loans")
    assert 'type="number" step="1" value="41"' in page.text  # age: long, from the example
    assert 'type="checkbox"' in page.text and "curl -X POST" in page.text
    token = csrf_of(page)
    answer = dora.post("/models/loans/predict", data={"csrf": token, "income": "100",
                                                       "age": "30", "region": "south"})  # fmt: skip
    assert answer.status_code == 200, answer.text
    assert 'role="status"' in answer.text and "charged 0.001100" in answer.text
    bad = dora.post("/models/loans/predict", data={"csrf": token, "income": "x", "age": "1.5",
                                                    "region": "s"})  # fmt: skip
    assert bad.status_code == 422
    assert "income: must be a number" in bad.text and "age: must be a whole number" in bad.text
    csv_bad = b"income,age,region\n1,2,a\n3,old,b\n"
    checked = dora.post("/models/loans/batch", data={"csrf": token},
                        files={"file": ("rows.csv", csv_bad, "text/csv")})  # fmt: skip
    assert checked.status_code == 422 and "line 3" in checked.text
    good = b'{"income": 1, "age": 2, "region": "a"}\n{"income": 3, "age": 4, "region": "b"}\n'
    checked = dora.post("/models/loans/batch", data={"csrf": token},
                        files={"file": ("rows.jsonl", good, "application/x-ndjson")})  # fmt: skip
    assert checked.status_code == 200 and "2 rows, all valid" in checked.text
    assert dora.get("/account").text.count("<td>0.001100</td>") == 1  # nothing more charged yet
    tensor = dora.post("/models/tensorish/predict", data={"csrf": token, "input": "[1, 2, 3]"})
    assert tensor.status_code == 200, tensor.text
