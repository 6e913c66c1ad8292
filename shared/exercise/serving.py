"""Serving a graded copy on loopback, in process: the tenant it logs in to, the app's logs kept
quiet, and the copy's entry file loaded with finished moves spliced in (shared/exercise/grading.py)."""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import secrets
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import uvicorn

from shared.dev_tenant import DevTenant


class Unmet(Exception):
    """The first expectation of a move's check that the copy did not meet, in a learner's words."""


def expect(condition: object, message: str) -> None:
    if not condition:
        raise Unmet(message)


# ---- serving on loopback (the same few lines as tests/support/servers.py) ------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def serve(app: Any, port: int) -> Iterator[None]:
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="critical", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise Unmet("the app did not start: run it once with `uv run` to see why")
        time.sleep(0.01)
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(timeout=10)


class AppErrors(logging.Handler):
    """Keeps what the app logged instead of printing it: a learner's check shows no traceback,
    only the line of the copy where the exception came from."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.exceptions: list[BaseException] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and record.exc_info[1] is not None:
            self.exceptions.append(record.exc_info[1])


@contextlib.contextmanager
def quiet_logs() -> Iterator[AppErrors]:
    root = logging.getLogger()
    errors = AppErrors()
    saved = root.handlers[:], root.level
    root.handlers = [errors]
    root.setLevel(logging.WARNING)
    try:
        yield errors
    finally:
        root.handlers, level = saved
        root.setLevel(level)


# ---- a tenant and a graded app ---------------------------------------------------------------


@dataclass
class Grader:
    tenant: DevTenant
    issuer: str
    state_dir: Path
    errors: AppErrors


@contextlib.contextmanager
def running_tenant() -> Iterator[Grader]:
    with tempfile.TemporaryDirectory(prefix="exercise-check-") as folder, quiet_logs() as errors:
        port = free_port()
        issuer = f"http://localhost:{port}/"
        # any_app_port: the graded copy runs on a free port, which the tutorial's settings do not list.
        tenant = DevTenant(issuer, Path(folder) / "tenant", testing=True, any_app_port=True)
        with serve(tenant.app, port):
            yield Grader(tenant, issuer, Path(folder), errors)


def load_source(path: Path, source: str, modules: dict[str, ModuleType] | None = None) -> ModuleType:
    """Run `source` as the entry file at `path`: its sibling modules are the copy's own, but for
    `modules` (by name): step 03's wrapper_app.py is graded on the finished cookie_app.py."""
    name = f"exercise_{secrets.token_hex(6)}"
    folder = str(path.parent)
    siblings = {file.stem for file in path.parent.glob("*.py")}
    saved = {sibling: sys.modules.pop(sibling) for sibling in siblings if sibling in sys.modules}
    sys.modules.update(modules or {})
    sys.path.insert(0, folder)
    try:
        spec = importlib.util.spec_from_loader(name, loader=None, origin=str(path))
        assert spec is not None
        module = importlib.util.module_from_spec(spec)
        module.__file__ = str(path)
        sys.modules[name] = module  # dataclasses look their module up while the file runs
        # The graded source is the participant's own file with finished moves spliced in.
        exec(compile(source, str(path), "exec"), module.__dict__)  # noqa: S102
    finally:
        sys.path.remove(folder)
        for sibling in siblings | set(modules or {}):
            sys.modules.pop(sibling, None)
        sys.modules.update(saved)
    return module
