"""The catalog beside real billing, both served on loopback, and people who sign in."""

from __future__ import annotations

import re
import uuid
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
from modelship.billing.app import create_app as billing_app
from modelship.catalog.app import create_app as catalog_app
from modelship.catalog.passwords import set_password
from modelship.db import make_engine, session_factory
from modelship.settings import Settings

from modelship_platform.conftest import ADMIN
from modelship_platform.upstream import card, serve_in_thread

XSS = "<script>alert(1)</script>"
PASSWORD = "correct horse battery"
COLUMNS = {
    "inputs": [
        {"type": "double", "name": "income", "required": True},
        {"type": "long", "name": "age", "required": True},
        {"type": "string", "name": "region", "required": True},
        {"type": "boolean", "name": "existing_customer", "required": False},
    ],
    "outputs": [{"type": "double", "name": "limit", "required": True}],
}
EXAMPLE = {"income": 52000.0, "age": 41, "region": "north", "existing_customer": True}


def described(name, owner, visibility, description, per_call="0.001", per_row="0.0001"):
    found = card(name, owner, visibility, per_call, per_row)
    found["metadata"]["description"] = description
    return found


@dataclass
class Stack:
    catalog: str
    billing: str
    admin: httpx.Client
    database_url: str

    def person(self, name, role="consumer", amount="1.00", password=PASSWORD) -> str:
        """An account with an email, a balance and a password; returns the email."""
        email = f"{name}@example.com"
        made = self.admin.post("/v1/accounts", json={"name": name, "role": role, "email": email})
        assert made.status_code == 201, made.text
        if amount:
            topped = self.admin.post(
                f"/v1/accounts/{name}/topups",
                json={"amount": amount},
                headers={"Idempotency-Key": uuid.uuid4().hex},
            )
            assert topped.status_code == 201, topped.text
        engine = make_engine(self.database_url)
        with session_factory(engine).begin() as s:
            set_password(s, name, password)
        engine.dispose()
        return email


@contextmanager
def platform(database_url: str, models: list[str], **catalog_settings):
    settings = Settings(
        database_url=database_url, models=models, admin_key=ADMIN, request_timeout_s=30
    )
    with serve_in_thread(billing_app(settings)) as billing:
        ours = settings.model_copy(update={"billing_url": billing, **catalog_settings})
        with serve_in_thread(catalog_app(ours)) as catalog:
            headers = {"Authorization": f"Bearer {ADMIN}"}
            with httpx.Client(base_url=billing, headers=headers, timeout=30) as admin:
                yield Stack(catalog, billing, admin, database_url)


CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(page: httpx.Response) -> str:
    return CSRF.search(page.text).group(1)


def signed_in(catalog: str, email: str, password: str = PASSWORD) -> httpx.Client:
    """A browser-like client (cookies kept) signed in through ``/login``."""
    client = httpx.Client(base_url=catalog, timeout=30)
    token = csrf_of(client.get("/login"))
    done = client.post("/login", data={"email": email, "password": password, "csrf": token})
    assert done.status_code == 303, done.text
    return client
