"""An HTTP client for a running central, as an IOC operator: the API trusts no caller for where it connects from."""

from datetime import UTC, datetime

import httpx

from central.service import CentralService
from central.store.users import add_user


def ioc_client(central: CentralService, name: str = "ioc") -> httpx.Client:
    """A client for ``central``'s API carrying a fresh operator's bearer token."""
    if central.store is None:
        raise RuntimeError("start central before asking for a client")
    token = add_user(central.store, name, "operator", None, None, datetime.now(UTC))
    return httpx.Client(base_url=central.api_url, timeout=10, headers={"Authorization": f"Bearer {token}"})
