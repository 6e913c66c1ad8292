"""Steps started as a learner starts them: real processes, on free ports, with their console kept."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx2
import pytest

from shared.dev_tenant.settings import SettingsStore
from tests.support.servers import free_port

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class StepProcess:
    process: subprocess.Popen[str]
    url: str
    log: Path

    @property
    def console(self) -> str:
        return self.log.read_text(encoding="utf-8")

    def wait_for_console(self, text: str, timeout: float = 20) -> str:
        deadline = time.monotonic() + timeout
        while text not in self.console:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"the step never printed {text!r}; its console:\n{self.console}")
            time.sleep(0.05)
        return self.console

    def stop(self) -> None:
        """Ctrl-C, as a learner stops a step."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def step_env(tmp_path) -> dict[str, str]:
    """The environment every step of one test shares: one dev tenant port and state folder, no Auth0."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AUTH0_", "APP_"))}
    env.update(
        DEV_TENANT_PORT=str(free_port()),
        DEV_TENANT_STATE_DIR=str(tmp_path / "dev-tenant"),
        PYTHONUNBUFFERED="1",
    )
    env.pop("PORT", None)
    return env


def allow_app_port(state_dir: Path, port: int) -> None:
    """Add an app on `port` to the dev tenant's settings, as a learner would on its dashboard.

    The tenant a step starts enforces Allowed Callback / Logout URLs; these tests run steps on free
    ports, which the tutorial's settings do not list.
    """
    state_dir.mkdir(parents=True, exist_ok=True)
    store = SettingsStore(state_dir)
    now, app = store.current(), f"http://localhost:{port}"
    store.update(
        callbacks=(*now.callbacks, f"{app}/callback"),
        allowed_logout_urls=(*now.allowed_logout_urls, app),
        backchannel_logout_urls=(*now.backchannel_logout_urls, f"{app}/backchannel-logout"),
    )


@pytest.fixture
def start_step(tmp_path, step_env) -> Iterator[Callable[..., StepProcess]]:
    """start_step("01-Login/app.py") runs that step as `uv run` would and waits until it answers."""
    started: list[StepProcess] = []

    def _start(relative_path: str, *, wait: bool = True, **env: str) -> StepProcess:
        port = free_port()
        allow_app_port(Path(step_env["DEV_TENANT_STATE_DIR"]), port)
        log = tmp_path / f"{len(started)}-{Path(relative_path).stem}.log"
        with log.open("w", encoding="utf-8") as out:
            process = subprocess.Popen(
                [sys.executable, relative_path],
                cwd=ROOT,
                env={**step_env, "PORT": str(port), **env},
                stdout=out,
                stderr=subprocess.STDOUT,
                text=True,
            )
        step = StepProcess(process, f"http://localhost:{port}", log)
        started.append(step)
        if wait:
            step.wait_for_console("Press Ctrl-C to stop.")
            deadline = time.monotonic() + 20
            while True:
                try:
                    if httpx2.get(f"{step.url}/", timeout=2).status_code == 200:
                        break
                except httpx2.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise AssertionError(f"{relative_path} never answered; its console:\n{step.console}")
                time.sleep(0.05)
        return step

    yield _start
    for step in reversed(started):
        step.stop()
