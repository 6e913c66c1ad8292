"""The typed per-app context: what a step's handlers need besides the request, on `app.state.context`."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar, overload

from starlette.applications import Starlette
from starlette.requests import HTTPConnection
from starlette.templating import Jinja2Templates

from shared.config import Settings
from shared.cookies import cookie_name
from shared.tenant import Tenant


@dataclass
class AppContext:
    """What a step's handlers need besides the request, typed: `context(request).settings`, …

    A step that keeps more per app subclasses it (step 03: its session records and the id_token's
    holder) and hands the subclass to the factory; `context(request, ThatClass)` is then the same
    one object, typed as the subclass. One accessor, one place (`app.state.context`).
    """

    settings: Settings
    step: str  # the step's title, shown in the page header
    templates: Jinja2Templates
    signed_cookie: str  # the name of SessionMiddleware's cookie (`request.session`)
    oauth: Any  # the step's Authlib client, registered once in its create_app (Authlib has no types)
    clock: Callable[[], float] = time.time  # tests move time forward instead of sleeping
    _tenant: Tenant | None = field(default=None, repr=False)

    def cookie(self, name: str) -> str:
        """The step's cookie `name` as the browser gets it: `__Host-name` over https (shared/cookies.py)."""
        return cookie_name(name, secure=self.settings.https)

    @property
    def tenant(self) -> Tenant:
        """The tenant's discovery, verifier and logout URL; there from the app's start (its lifespan)."""
        if self._tenant is None:
            raise RuntimeError("The app has not started: serve it (its lifespan opens the tenant).")
        return self._tenant

    def open(self, tenant: Tenant) -> None:
        """At the app's start (its lifespan): the tenant, lent to the step's Authlib client too."""
        self._tenant = tenant
        tenant.lend_to(self.oauth)


Context = TypeVar("Context", bound=AppContext)


@overload
def context(connection: HTTPConnection | Starlette) -> AppContext: ...
@overload
def context(connection: HTTPConnection | Starlette, kind: type[Context]) -> Context: ...
def context(connection: HTTPConnection | Starlette, kind: type[AppContext] = AppContext) -> AppContext:
    """The step's context, from a request (or the app itself); `kind`: the step's own subclass."""
    app = connection if isinstance(connection, Starlette) else connection.app
    found = app.state.context
    if not isinstance(found, kind):
        raise TypeError(f"this app's context is a {type(found).__name__}, not a {kind.__name__}")
    return found
