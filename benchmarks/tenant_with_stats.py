"""The dev tenant, wrapped to count JWKS fetches for the benchmark (GET /__bench/stats)."""

from __future__ import annotations

import argparse
from pathlib import Path

import uvicorn
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from shared.dev_tenant import DevTenant


class CountJwks:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.jwks = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            if scope["path"] == "/.well-known/jwks.json":
                self.jwks += 1
            elif scope["path"] == "/__bench/stats":
                await JSONResponse({"jwks": self.jwks})(scope, receive, send)
                return
        await self.app(scope, receive, send)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--state-dir", type=Path, required=True)
    args = parser.parse_args()
    # any_app_port: the apps measured run on free ports, which the tutorial's settings do not list.
    tenant = DevTenant(f"http://localhost:{args.port}/", args.state_dir, any_app_port=True)
    uvicorn.run(CountJwks(tenant.app), host="127.0.0.1", port=args.port, log_level="warning")
