"""How every entry point runs the app under uvicorn: one place for the server options
that are security decisions.

- `proxy_headers=False`: uvicorn would otherwise trust `X-Forwarded-For` from 127.0.0.1
  before the app sees the request; the app decides instead (ui/web/client_address.py, the
  `trusted_proxies` setting);
- `server_header=False`: no `server: uvicorn` banner.
"""

from __future__ import annotations

import contextlib
from typing import Any

import uvicorn


def server_config(app: Any, **options: Any) -> uvicorn.Config:
    """A uvicorn.Config for `app`; `options` are any other uvicorn settings."""
    return uvicorn.Config(app, proxy_headers=False, server_header=False, **options)


def run(app: Any, **options: Any) -> None:
    """Serve `app` until interrupted (what `policy-qa serve` does); Ctrl-C is a normal stop."""
    with contextlib.suppress(KeyboardInterrupt):  # uvicorn re-raises it after shutting down
        uvicorn.Server(server_config(app, **options)).run()
