"""Fixtures every test folder shares: a dev tenant on a loopback port, step apps served against it, a browser."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import httpx2
import pytest

from shared.config import Settings
from shared.dev_tenant import DEV_CLIENT_ID, DevTenant, dev_client_secret
from tests.support.pages import hosted_login  # noqa: F401  (tests import it from here too)
from tests.support.redis_server import redis_server_path, running_redis
from tests.support.servers import free_port, serve
from tests.support.steps import load_step

CHROMIUM = "/usr/bin/chromium"


@dataclass
class RunningTenant:
    tenant: DevTenant
    issuer: str
    state_dir: Path

    def settings_for(self, port: int, **overrides) -> Settings:
        """What a step app would load in the embedded default, pointed at this tenant."""
        settings = Settings(
            issuer=self.issuer,
            client_id=DEV_CLIENT_ID,
            client_secret=dev_client_secret(self.state_dir),
            app_secret_key="test-secret-key-" + "x" * 32,
            base_url=f"http://localhost:{port}",
            embedded=True,
            state_dir=self.state_dir,
        )
        return replace(settings, **overrides)


@contextlib.contextmanager
def running_tenant(state_dir: Path, **options) -> Iterator[RunningTenant]:
    port = free_port()
    # generic=True: an issuer as most OpenID Connect providers write it, with a path and no trailing slash.
    issuer = f"http://localhost:{port}/realms/generic" if options.get("generic") else f"http://localhost:{port}/"
    # any_app_port: the apps under test run on free ports, which the tutorial's settings do not list.
    options.setdefault("any_app_port", True)
    tenant = DevTenant(issuer, state_dir, testing=True, **options)
    with serve(tenant.app, port):
        yield RunningTenant(tenant, issuer, state_dir)


@pytest.fixture(scope="session")
def shared_tenant(tmp_path_factory) -> Iterator[RunningTenant]:
    """One tenant for the whole run (key generation is slow); tests must not leave faults behind."""
    # Named as a learner's state folder is: the panel in the screenshots shows the records' path in it.
    with running_tenant(tmp_path_factory.mktemp(".dev-tenant", numbered=False)) as running:
        yield running


@pytest.fixture
def tenant(shared_tenant: RunningTenant) -> Iterator[RunningTenant]:
    shared_tenant.tenant.faults.reset()
    yield shared_tenant
    shared_tenant.tenant.faults.reset()


@pytest.fixture(scope="session")
def shared_generic_tenant(tmp_path_factory) -> Iterator[RunningTenant]:
    """The dev tenant as a provider that is not Auth0: see DevTenant(generic=True)."""
    with running_tenant(tmp_path_factory.mktemp("generic-tenant"), generic=True) as running:
        yield running


@pytest.fixture
def generic_tenant(shared_generic_tenant: RunningTenant) -> Iterator[RunningTenant]:
    shared_generic_tenant.tenant.faults.reset()
    yield shared_generic_tenant
    shared_generic_tenant.tenant.faults.reset()


@pytest.fixture
def fresh_tenant(tmp_path) -> Callable[..., contextlib.AbstractContextManager[RunningTenant]]:
    """A tenant of the test's own, for tests that rotate keys or change the tenant's options."""
    return lambda **options: running_tenant(tmp_path / "own-tenant", **options)


@pytest.fixture
def serve_step(tenant: RunningTenant):
    """serve_step("01-Login/app.py") runs that step against the tenant and yields its base URL."""

    @contextlib.contextmanager
    def _serve(relative_path: str, on: RunningTenant | None = None, **overrides) -> Iterator[str]:
        port = free_port()
        settings = (on or tenant).settings_for(port, **overrides)
        app = load_step(relative_path).create_app(settings)
        with serve(app, port, host="127.0.0.1"):
            yield settings.base_url

    return _serve


@pytest.fixture
def http() -> Iterator[httpx2.Client]:
    """A cookie-keeping client that does not follow redirects, so tests see each hop."""
    with httpx2.Client(timeout=10) as client:
        yield client


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory) -> Iterator[str]:
    """A real redis-server for the whole run; skipped without one, except under CI where it must exist."""
    if not redis_server_path():
        if os.environ.get("CI"):
            pytest.fail("redis-server is missing; .ci/run installs it with apt-get install redis-server")
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    with running_redis(tmp_path_factory.mktemp("redis")) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium driven by Playwright; skipped without it, except under CI where it must exist.

    Module-scoped: Playwright's sync API keeps an event loop running in the main thread while it is
    open, which would break later tests that call asyncio.run().
    """
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing; .ci/run installs it with apt-get install chromium")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-quic",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def pytest_collection_modifyitems(session, config, items):
    """The benchmark's smoke run last: it prints nothing for tens of seconds, so a first-time
    runner of the suite would take the silence for a hang if it came first."""
    items.sort(key=lambda item: "tests/benchmarks/" in item.nodeid)
