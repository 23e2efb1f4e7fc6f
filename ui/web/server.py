"""How every entry point runs the app under uvicorn: one place for the server options
that are security decisions.

- `proxy_headers=False`: uvicorn would otherwise trust `X-Forwarded-For` from 127.0.0.1
  before the app sees the request; the app decides instead (ui/web/client_address.py, the
  `trusted_proxies` setting);
- `server_header=False`: no `server: uvicorn` banner;
- `http=GuardedHttpProtocol`: caps on a request's head and how slowly it may arrive
  (ui/web/http_guard.py), and `limit_concurrency`: past `MAX_CONNECTIONS` connections
  and requests in flight, new requests are answered 503 at once (a flood of idle
  sockets is also closed by the guard's head timeout);
- `QuietServer`: uvicorn's housekeeping loop wakes once a second, not ten times (its
  only jobs are the Date header, refreshed once a second anyway, and noticing a stop
  request, now within a second); those wake-ups were most of an idle server's CPU;
- `settle_heap`: what start-up loaded (the model, the index, gradio) lives as long as the
  process, so it is moved out of the garbage collector's reach before serving; a full
  collection then scans only what requests allocate. Before, one took about 0.3 s here
  and every request in flight waited for it (the bench's p99 at 8 clients).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
from typing import Any

import uvicorn

from ui.web.http_guard import GuardedHttpProtocol

MAX_CONNECTIONS = 1000


def server_config(app: Any, **options: Any) -> uvicorn.Config:
    """A uvicorn.Config for `app`; `options` are any other uvicorn settings."""
    options = {"http": GuardedHttpProtocol, "limit_concurrency": MAX_CONNECTIONS, **options}
    return uvicorn.Config(app, proxy_headers=False, server_header=False, **options)


class QuietServer(uvicorn.Server):
    TICK_SECONDS = 1.0

    async def main_loop(self) -> None:
        counter = 0  # uvicorn counts tenths of a second: every tick here is a whole one
        should_exit = await self.on_tick(counter)
        while not should_exit:
            counter = (counter + 10) % 864000
            await asyncio.sleep(self.TICK_SECONDS)
            should_exit = await self.on_tick(counter)


def settle_heap() -> None:
    """Collect start-up's garbage, then freeze what is left (`gc.freeze`): those objects
    are never scanned again. Once per serving process, after the model has loaded."""
    gc.collect()
    gc.freeze()


def run(app: Any, **options: Any) -> None:
    """Serve `app` until interrupted (what `policy-qa serve` does); Ctrl-C is a normal stop."""
    settle_heap()
    with contextlib.suppress(KeyboardInterrupt):  # uvicorn re-raises it after shutting down
        QuietServer(server_config(app, **options)).run()
