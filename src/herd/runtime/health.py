"""The manager's probe and metrics endpoints: `/healthz`, `/readyz` and Prometheus `/metrics` (aiohttp)."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from .metrics import Metrics

Check = Callable[[], bool]


class HealthServer:
    """Serves the checks and the metrics registry on one address (port 0 picks a free port)."""

    def __init__(self, metrics: Metrics, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.metrics = metrics
        self.host = host
        self.port = port
        self.health_checks: dict[str, Check] = {"ping": lambda: True}
        self.ready_checks: dict[str, Check] = {"ping": lambda: True}
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self) -> None:
        """Listen; `port` then holds the port actually bound."""
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        app.router.add_get("/metrics", self._metrics)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def _healthz(self, request: web.Request) -> web.Response:
        return self._probe(request, self.health_checks)

    async def _readyz(self, request: web.Request) -> web.Response:
        return self._probe(request, self.ready_checks)

    def _probe(self, request: web.Request, checks: dict[str, Check]) -> web.Response:
        results = {name: _safe(check) for name, check in checks.items()}
        ok = all(results.values())
        if "verbose" in request.query:
            lines = [f"[{'+' if passed else '-'}]{name} {'ok' if passed else 'failed'}"
                     for name, passed in results.items()]
            body = "\n".join([*lines, "healthz check passed" if ok else "healthz check failed"]) + "\n"
        else:
            body = "ok" if ok else "failed: " + ",".join(name for name, passed in results.items() if not passed)
        return web.Response(status=200 if ok else 500, text=body)

    async def _metrics(self, request: web.Request) -> web.Response:
        response = web.Response(body=self.metrics.exposition())
        response.headers["Content-Type"] = CONTENT_TYPE_LATEST
        return response


def _safe(check: Check) -> bool:
    try:
        return bool(check())
    except Exception:
        return False
