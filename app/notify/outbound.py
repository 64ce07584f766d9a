"""What every outbound call to a provider shares: the timeout, and when a retry is safe."""

from __future__ import annotations

import requests
from urllib3.exceptions import NewConnectionError

# (connect, read) seconds: a provider that does not answer in time is treated as down.
TIMEOUT = (3.05, 10)


def never_reached_server(exc: requests.RequestException) -> bool:
    """True when no byte of the request can have reached the provider, so repeating it is safe."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    if isinstance(exc, requests.ConnectionError) and exc.args:
        return isinstance(getattr(exc.args[0], "reason", None), NewConnectionError)
    return False
