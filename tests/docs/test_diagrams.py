"""Each step README opens with a Mermaid sequence diagram, and every route it names is real.

A diagram's participants are `Browser`, `App` (the step's app) and `Tenant` (the dev tenant). A path
in a message to `App` must be a route of that step's app (every variant's, in step 03), a path in a
message to `Tenant` an endpoint of the dev tenant; a path in an answer to the browser or in a note
must be one or the other. A verb before a path (`POST /oauth/token`) must be one the route allows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from starlette.routing import BaseRoute, Match

from shared.config import Settings
from shared.dev_tenant import DevTenant
from tests.support.steps import load_step

ROOT = Path(__file__).resolve().parents[2]
APPS = {
    "01-Login": ["01-Login/app.py"],
    "02-Custom-Login": ["02-Custom-Login/app.py"],
    "03-Session-Handling": ["03-Session-Handling/cookie_app.py", "03-Session-Handling/wrapper_app.py"],
}
PAGES = sorted(path for step in APPS for path in (ROOT / step).glob("*.md"))
ISSUER = "http://localhost:4000/"
MAX_README_BYTES = 8 * 1024

FENCE = re.compile(r"^```mermaid\n(?P<body>.*?)^```$", re.M | re.S)
PARTICIPANT = re.compile(r"^\s*(?:participant|actor)\s+(?P<id>\w+)(?:\s+as\s+.*)?$")
MESSAGE = re.compile(
    r"^\s*(?P<sender>\w+)\s*(?:-->>|->>|-->|->|--x|-x|--\)|-\))[+-]?\s*(?P<receiver>\w+)\s*:(?P<text>.*)$"
)
NOTE = re.compile(r"^\s*Note\s+(?:over|left of|right of)\s+[\w, ]+:(?P<text>.*)$", re.I)
# A path starts a word (not the inside of a URL or of "and/or"); a verb before it is kept.
PATH = re.compile(r"(?:\b(?P<verb>GET|POST)\s+)?(?<![\w:/.])(?P<path>/[\w.~\-/{}]*)")
ROLES = {"Browser": "browser", "App": "app", "Tenant": "tenant"}


@dataclass(frozen=True)
class Named:
    """One path a diagram names: where, to whom, and with which verb if any."""

    line: str
    role: str  # "app", "tenant", or "either" (an answer to the browser, a note)
    path: str
    verb: str | None


def diagrams(text: str) -> list[str]:
    """The body of every Mermaid block in a page."""
    return [match["body"] for match in FENCE.finditer(text)]


def named_paths(diagram: str) -> list[Named]:
    """Every path a sequence diagram names; ValueError for a participant that is not Browser, App or Tenant."""
    named = []
    for line in diagram.splitlines():
        if participant := PARTICIPANT.match(line):
            if participant["id"] not in ROLES:
                raise ValueError(f"participant {participant['id']!r}: name each one Browser, App or Tenant")
            continue
        if message := MESSAGE.match(line):
            for party in (message["sender"], message["receiver"]):
                if party not in ROLES:
                    raise ValueError(f"{line.strip()!r}: {party!r} is not Browser, App or Tenant")
            role, text = ROLES[message["receiver"]], message["text"]
        elif note := NOTE.match(line):
            role, text = "either", note["text"]
        else:
            continue
        for found in PATH.finditer(text):
            path = found["path"].rstrip(".") or "/"
            named.append(Named(line.strip(), "either" if role == "browser" else role, path, found["verb"]))
    return named


def serves(routes: list[BaseRoute], path: str, verb: str | None) -> bool:
    """Whether one of `routes` answers `verb path` (any verb when none is named)."""
    scope = {"type": "http", "path": path, "method": verb or "GET"}
    for route in routes:
        match, _ = route.matches(scope)
        if match is Match.FULL or (match is Match.PARTIAL and verb is None):
            return True
    return False


def unknown_paths(diagram: str, apps: list[list[BaseRoute]], tenant: list[BaseRoute]) -> list[str]:
    """The paths of a diagram that no app (for `App`) or the tenant (for `Tenant`) serves, one message each."""
    problems = []
    for named in named_paths(diagram):
        in_apps = all(serves(routes, named.path, named.verb) for routes in apps)
        in_tenant = serves(tenant, named.path, named.verb)
        known = {"app": in_apps, "tenant": in_tenant, "either": in_apps or in_tenant}[named.role]
        if not known:
            where = {"app": "the step's app", "tenant": "the dev tenant", "either": "the app or the tenant"}
            verb = f"{named.verb} " if named.verb else ""
            problems.append(f"{named.line!r}: {verb}{named.path} is not a route of {where[named.role]}")
    return problems


@pytest.fixture(scope="module")
def tenant_routes(tmp_path_factory) -> list[BaseRoute]:
    return DevTenant(ISSUER, tmp_path_factory.mktemp("tenant")).app.routes


def app_routes(path: str, state_dir: Path) -> list[BaseRoute]:
    settings = Settings(
        issuer=ISSUER,
        client_id="client",
        client_secret="secret",
        app_secret_key="test-secret-key-" + "x" * 32,
        base_url="http://localhost:3000",
        embedded=True,
        state_dir=state_dir,
    )
    return load_step(path).create_app(settings).routes


@pytest.mark.parametrize("step", APPS)
def test_each_step_readme_opens_with_a_sequence_diagram(step):
    text = (ROOT / step / "README.md").read_text(encoding="utf-8")
    first_block = re.search(r"^```(\w*)\n(.*?)$", text, re.M)
    assert first_block and first_block[1] == "mermaid", f"{step}/README.md: the first code block is not Mermaid"
    assert first_block[2].strip() == "sequenceDiagram", f"{step}/README.md: the first diagram is not a sequenceDiagram"
    first_heading = re.search(r"^## ", text, re.M)
    assert not first_heading or first_block.start() < first_heading.start(), (
        f"{step}/README.md: the diagram comes after the first section; put it right under the title"
    )


@pytest.mark.parametrize("page", PAGES, ids=[str(page.relative_to(ROOT)) for page in PAGES])
def test_every_route_a_diagram_names_is_real(page, tenant_routes, tmp_path):
    step = page.parent.name
    apps = [app_routes(path, tmp_path) for path in APPS[step]]
    problems = [
        problem
        for diagram in diagrams(page.read_text(encoding="utf-8"))
        for problem in unknown_paths(diagram, apps, tenant_routes)
    ]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("step", APPS)
def test_each_step_readme_is_at_most_8_kb(step):
    size = len((ROOT / step / "README.md").read_bytes())
    assert size <= MAX_README_BYTES, (
        f"{step}/README.md is {size} bytes, over {MAX_README_BYTES}: move what goes beyond the step's moves "
        "to its Going further page, or say it in fewer words"
    )


# The checker itself: a typo'd route fails, in the app's column and in the tenant's.

DIAGRAM = """\
sequenceDiagram
    participant Browser
    participant App as the app
    participant Tenant
    Browser->>App: GET /login
    App-->>Browser: 302 to /authorize?state=…
    Browser->>Tenant: GET /authorize
    Browser->>App: GET /callback?code&state
    App->>Tenant: POST /oauth/token (code, verifier)
    Note over App: verify the id_token with /.well-known/jwks.json
    App-->>Browser: 303 to /, the cookie
"""


@pytest.fixture
def small_app() -> list[BaseRoute]:
    from starlette.routing import Route

    async def page(request):  # pragma: no cover - never called
        raise NotImplementedError

    return [Route("/", page), Route("/login", page), Route("/callback", page)]


def test_a_diagram_of_real_routes_passes(small_app, tenant_routes):
    assert unknown_paths(DIAGRAM, [small_app], tenant_routes) == []
    assert [named.path for named in named_paths(DIAGRAM)] == [
        "/login", "/authorize", "/authorize", "/callback", "/oauth/token", "/.well-known/jwks.json", "/",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("right", "wrong", "message"),
    [
        ("Browser->>App: GET /login", "Browser->>App: GET /logn", "GET /logn is not a route of the step's app"),
        ("Browser->>Tenant: GET /authorize", "Browser->>Tenant: GET /authorise", "GET /authorise is not a route of the dev tenant"),
        ("App->>Tenant: POST /oauth/token", "App->>Tenant: GET /oauth/token", "GET /oauth/token is not a route of the dev tenant"),
        ("Browser->>App: GET /login", "Browser->>App: GET /authorize", "GET /authorize is not a route of the step's app"),
        ("302 to /authorize", "302 to /authorize/x", "/authorize/x is not a route of the app or the tenant"),
        ("/.well-known/jwks.json", "/.well-known/jwks", "/.well-known/jwks is not a route of the app or the tenant"),
    ],
)  # fmt: skip
def test_a_typo_in_a_route_fails_naming_it(small_app, tenant_routes, right, wrong, message):
    assert right in DIAGRAM
    [problem] = unknown_paths(DIAGRAM.replace(right, wrong, 1), [small_app], tenant_routes)
    assert message in problem


def test_a_route_missing_from_one_variant_fails(small_app, tenant_routes):
    [problem] = unknown_paths(DIAGRAM, [small_app, small_app[:2]], tenant_routes)
    assert "/callback" in problem


def test_an_unknown_participant_is_refused():
    with pytest.raises(ValueError, match="name each one Browser, App or Tenant"):
        named_paths("sequenceDiagram\n    participant Server\n")
    with pytest.raises(ValueError, match="'Auth0' is not Browser, App or Tenant"):
        named_paths("sequenceDiagram\n    App->>Auth0: POST /oauth/token\n")
