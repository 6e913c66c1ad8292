"""Load a step's app module from its folder (folder names like 01-Login are not importable)."""

from __future__ import annotations

import base64
import importlib.util
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import itsdangerous

ROOT = Path(__file__).resolve().parents[2]


def load_step(relative_path: str) -> ModuleType:
    path = ROOT / relative_path
    name = "step_" + relative_path.replace("/", "_").replace("-", "_").removesuffix(".py")
    if name in sys.modules:
        return sys.modules[name]
    # A step imports the modules beside it (step 03's session_pages.py), as `uv run` would let it.
    if str(path.parent) not in sys.path:
        sys.path.insert(0, str(path.parent))
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@dataclass(frozen=True)
class StepCookies:
    """The cookies one step keeps in the browser (each step its own names: see the README's Security section)."""

    signed: str  # the step's signed cookie (SessionMiddleware): the login in progress (and the wrapper's id_token)
    id_token: str | None  # the plain cookie holding the id_token; None: the id_token lives in the session

    @property
    def holder(self) -> str:
        """The cookie that holds the id_token."""
        return self.id_token or self.signed

    def stored_id_token(self, value: str | None) -> str | None:
        """The id_token inside the holder cookie's value (None: none stored)."""
        if not value or self.id_token:
            return value or None
        token = session_data(value).get("id_token")
        return token if isinstance(token, str) else None

    def holding(self, id_token: str, secret_key: str) -> str:
        """A Cookie header for a session holding `id_token`, written the way this step writes it."""
        if self.id_token:
            return f"{self.id_token}={id_token}"
        payload = base64.b64encode(json.dumps({"id_token": id_token}).encode())
        return f"{self.signed}={itsdangerous.TimestampSigner(secret_key).sign(payload).decode()}"


COOKIES = {
    "01-Login/app.py": StepCookies("step01_signed", "step01_id_token"),
    "02-Custom-Login/app.py": StepCookies("step02_signed", "step02_id_token"),
    "03-Session-Handling/cookie_app.py": StepCookies("step03_cookie_signed", "step03_cookie_id_token"),
    "03-Session-Handling/wrapper_app.py": StepCookies("step03_wrapper_signed", None),
}


def session_data(value: str) -> dict[str, Any]:
    """SessionMiddleware's cookie is base64(JSON).timestamp.signature: signed, not encrypted."""
    try:
        data = json.loads(base64.b64decode(value.split(".")[0]))
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def sets_a_session(set_cookie: str) -> bool:
    """Does this Set-Cookie header give the browser an id_token, in any step's cookie?"""
    name, _, rest = set_cookie.partition("=")
    value = rest.split(";", 1)[0].strip('"')
    for cookies in COOKIES.values():
        if name == cookies.id_token and value not in ("", "null"):
            return True
        if name == cookies.signed and "id_token" in session_data(value):
            return True
    return False
