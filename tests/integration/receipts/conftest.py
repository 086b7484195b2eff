"""The receipt tests' app is configured with the providers' keys."""

import uuid

import httpx
import pytest

from clarion.config import Settings
from tests.support.apps import signed_in
from tests.support.receipts import Owner, configured


@pytest.fixture
def settings(database_url: str) -> Settings:
    return configured(database_url)


@pytest.fixture
async def owner(client: httpx.AsyncClient) -> Owner:
    headers = await signed_in(client, f"{uuid.uuid4().hex[:10]}@example.com")
    me = await client.get("/auth/me", headers=headers)
    return Owner(uuid.UUID(me.json()["id"]), headers)
