"""The room's board on the teacher's laptop: the page, its JSON, /report, and the command that serves them.

`uv run python -m shared.exercise board` prints the room code and the address participants use,
then serves until Ctrl-C. The page and its JSON answer only on the teacher's own laptop
(loopback): the room sees the board when the teacher projects it; the room's laptops only report.
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import socket
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import jinja2
from secure import ContentSecurityPolicy, ReferrerPolicy, Secure, XContentTypeOptions, XFrameOptions
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.config import is_loopback
from shared.exercise import STEPS, Move, Step, shown_path
from shared.exercise.board import (
    STATE_DIR,
    STATE_FILE,
    Board,
    BoardState,
    Cell,
    Limits,
    Refused,
    Row,
    StateError,
    column_key,
    columns,
    read_capped,
)

HERE = Path(__file__).resolve().parent
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]"})


# ---- the page -------------------------------------------------------------------------------


@dataclass
class ColumnView:
    file: str
    move: Move
    key: str
    done: int = 0
    failed: int = 0


@dataclass
class RowView:
    row: Row
    cells: list[Cell | None]
    done: int
    failed: int
    last: float | None


@dataclass
class StepView:
    step: Step
    files: list[tuple[str, int]]  # each entry file and how many columns it has
    columns: list[ColumnView]
    rows: list[RowView]


def steps_in_play(state: BoardState, shown: Iterable[str]) -> list[Step]:
    """The steps named at start, and every step someone reported, in the lessons' order."""
    wanted = set(shown) | {step for row in state.rows for step in row.steps}
    return [step for name, step in STEPS.items() if name in wanted]


def step_view(state: BoardState, step: Step) -> StepView:
    cols = [ColumnView(file, move, column_key(file, move.function)) for file, move in columns(step)]
    rows = []
    for row in state.rows:
        cells = [row.steps.get(step.folder, {}).get(col.key) for col in cols]
        for col, cell in zip(cols, cells, strict=True):
            if cell is not None:
                col.done += cell.done
                col.failed += not cell.done
        done = sum(1 for cell in cells if cell and cell.done)
        failed = sum(1 for cell in cells if cell and not cell.done)
        rows.append(RowView(row, cells, done, failed, row.last_graded(step.folder)))
    # The stuck first: most ✗, then least done; a name only breaks ties.
    rows.sort(key=lambda view: (-view.failed, view.done, view.row.name.casefold()))
    files = [(file, sum(1 for col in cols if col.file == file)) for file in step.files]
    return StepView(step, files, cols, rows)


def clock_time(at: float | None) -> str:
    return time.strftime("%H:%M:%S", time.localtime(at)) if at is not None else ""


def iso_time(at: float | None) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(at)) if at is not None else ""


TEMPLATES = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True, auto_reload=False)
TEMPLATES.filters.update(clock=clock_time, iso=iso_time)


def security_headers() -> list[tuple[bytes, bytes]]:
    """Its own script and stylesheet only, no inline code, nothing framed; nothing kept in a cache."""
    csp = (
        ContentSecurityPolicy()
        .default_src("'none'")
        .script_src("'self'")
        .style_src("'self'")
        .connect_src("'self'")
        .img_src("'self'")
        .form_action("'none'")
        .frame_ancestors("'none'")
        .base_uri("'none'")
    )
    policy = Secure(
        csp=csp,
        xfo=XFrameOptions().deny(),
        xcto=XContentTypeOptions().nosniff(),
        referrer=ReferrerPolicy().set("no-referrer"),
    )
    headers = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in policy.headers.items()]
    return [*headers, (b"cache-control", b"no-store")]


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.headers = security_headers()
        self.names = {name for name, _ in self.headers}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [(n, v) for n, v in message.get("headers", []) if n.lower() not in self.names]
                message["headers"] = [*kept, *self.headers]
            await send(message)

        await self.app(scope, receive, send_with_headers if scope["type"] == "http" else send)


def host_name(header: str) -> str:
    """The Host header without its port: localhost, 127.0.0.1 or [::1]."""
    if header.startswith("["):
        return header.split("]", 1)[0] + "]"
    return header.rsplit(":", 1)[0]


def on_teachers_laptop(request: Request) -> bool:
    """The page is the teacher's: asked from this laptop, by a loopback name. (A site whose name
    points at 127.0.0.1 could otherwise read the board through the teacher's own browser.)"""
    client = request.client.host if request.client else ""
    try:
        loopback = ipaddress.ip_address(client).is_loopback
    except ValueError:
        return False
    return loopback and host_name(request.headers.get("host", "")).lower() in LOOPBACK_HOSTS


def create_board_app(
    state: BoardState,
    *,
    address: str,
    lan: bool = False,
    shown_steps: Iterable[str] = (),
    limits: Limits | None = None,
    clock: Callable[[], float] = time.time,
) -> Starlette:
    """The board's app. `address` is the one participants put in EXERCISE_BOARD; `lan` says whether
    the board listens on the room's network, or on loopback only."""
    board = Board(state, limits or Limits(), clock)
    shown = tuple(shown_steps)
    template = TEMPLATES.get_template("board.html")

    def teachers_only(request: Request) -> Response | None:
        if on_teachers_laptop(request):
            return None
        text = "The board's page opens on the teacher's laptop only; participants report with `grade`."
        return JSONResponse({"error": text}, status_code=403)

    async def page(request: Request) -> Response:
        refused = teachers_only(request)
        if refused is not None:
            return refused
        views = [step_view(state, step) for step in steps_in_play(state, shown)]
        html = template.render(
            views=views,
            room=state.room,
            address=address,
            reachable=lan,
            version=state.version,
            participants=len(state.rows),
            last_report=max((row.last_graded(step) or 0 for row in state.rows for step in row.steps), default=None),
        )
        return HTMLResponse(html)

    async def board_json(request: Request) -> Response:
        refused = teachers_only(request)
        if refused is not None:
            return refused
        steps = []
        for view in (step_view(state, step) for step in steps_in_play(state, shown)):
            steps.append(
                {
                    "step": view.step.folder,
                    "moves": [
                        {
                            "file": c.file,
                            "move": c.move.function,
                            "title": c.move.title,
                            "done": c.done,
                            "failed": c.failed,
                        }
                        for c in view.columns
                    ],
                    "participants": [
                        {
                            "name": r.row.name,
                            "done": r.done,
                            "failed": r.failed,
                            "last_graded": r.last,
                            "moves": {
                                c.key: None
                                if cell is None
                                else {"done": cell.done, "message": cell.message, "at": cell.at}
                                for c, cell in zip(view.columns, r.cells, strict=True)
                            },
                        }
                        for r in view.rows
                    ],
                }
            )
        return JSONResponse({"version": state.version, "steps": steps})

    async def report(request: Request) -> Response:
        client = request.client.host if request.client else ""
        try:
            try:
                if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
                    raise Refused(415, "a report is JSON (content-type: application/json), as `grade` sends it")
                body = await read_capped(request, board.limits.body_bytes)
            except Refused:
                board.stranger(client)
                raise
            status, answer = board.take(body, client)
        except Refused as refused:
            headers = {"retry-after": str(max(1, round(refused.retry_after)))} if refused.retry_after else None
            return JSONResponse({"error": refused.message}, status_code=refused.status, headers=headers)
        return JSONResponse(answer, status_code=status)

    routes = [
        Route("/", page),
        Route("/board.json", board_json),
        Route("/report", report, methods=["POST"]),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    return Starlette(routes=routes, middleware=[Middleware(SecurityHeaders)])


# ---- the command ----------------------------------------------------------------------------

DEFAULT_PORT = 8800  # the steps use 3000 and the dev tenant 4000


def lan_addresses() -> list[str]:
    """This laptop's IPv4 addresses on its networks, as the room's laptops would reach it."""
    found: list[str] = []
    # Connecting a UDP socket sends nothing: it only asks the routing table which address would be used.
    for probe in ("10.255.255.255", "192.168.255.255", "172.31.255.255", "192.0.2.1"):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            try:
                sock.connect((probe, 9))
                found.append(sock.getsockname()[0])
            except OSError:
                continue
    with contextlib.suppress(OSError):
        found.extend(socket.gethostbyname_ex(socket.gethostname())[2])
    usable = [
        a for a in found if not ipaddress.ip_address(a).is_loopback and not ipaddress.ip_address(a).is_unspecified
    ]
    return list(dict.fromkeys(usable))


def url_of(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def run_board(host: str, port: int, folder: Path | None, *, clear: bool, steps: Iterable[str]) -> int:
    """`python -m shared.exercise board`: print where participants report, then serve until Ctrl-C."""
    import uvicorn  # only the teacher's laptop serves

    folder = folder or STATE_DIR
    try:
        state = BoardState(folder)
    except StateError as error:
        if not clear:
            print(f"error: {error}", file=sys.stderr)
            return 2
        damaged = folder / f"{STATE_FILE}.damaged"
        (folder / STATE_FILE).replace(damaged)  # --clear empties the board, but keeps what it could not read
        print(f"  {shown_path(folder / STATE_FILE)} could not be read: kept as {damaged.name}")
        state = BoardState(folder)
    cleared = state.clear() if clear else None
    # Listen before the banner: connections queue until uvicorn serves, so the address printed answers.
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    if sys.platform != "win32":  # restart at once despite the last run's connections in TIME_WAIT
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(128)
    except OSError as error:
        sock.close()
        taken = error.errno == errno.EADDRINUSE
        why = (
            f"port {port} is taken: stop what uses it or pass --port {port + 1}"
            if taken
            else f"cannot listen on {host}:{port} ({error.strerror}): --host takes 127.0.0.1, 0.0.0.0 "
            "or one of this laptop's addresses"
        )
        print(f"error: {why}", file=sys.stderr)
        return 2
    lan = not is_loopback(host)
    everywhere = host in ("0.0.0.0", "::")  # noqa: S104 (listening on the room's network is what --host asks)
    others = lan_addresses() if everywhere else [host] if lan else []
    address = url_of(others[0], port) if others else url_of("127.0.0.1" if not lan else "THIS-LAPTOP", port)
    if not lan:
        address = f"http://localhost:{port}"
    print("\nThe room's board\n")
    if cleared is not None:
        print(f"  Cleared: {cleared} participant row{'' if cleared == 1 else 's'} forgotten; a new room code.")
    print(f"  Room code: {state.room}")
    print(f"  Open http://localhost:{port}/ on this laptop (and project it).")
    if lan:
        where = "every network of this laptop" if everywhere else host
        print(f"  Listening on {where}, port {port}. Participants run, once:")
        print(f"      export EXERCISE_BOARD={address} EXERCISE_ROOM={state.room}")
        print(
            f"    or, on any system: uv run python -m shared.exercise grade STEP --board {address} --room {state.room}"
        )
        if len(others) > 1:
            print(f"    (this laptop's other addresses: {', '.join(url_of(a, port) for a in others[1:])})")
        if not others:
            print("    (THIS-LAPTOP: this laptop's address on the room's network; `ip addr` or `ipconfig` shows it)")
    else:
        print("  Listening on this laptop only (127.0.0.1): the room's laptops cannot report.")
        print("  For the room: --host 0.0.0.0 (every network), or --host with one of this laptop's addresses.")
    print(f"  State: {shown_path(state.path)} (--clear empties it for the next group)")
    print("\n  Press Ctrl-C to stop.\n", flush=True)
    app = create_board_app(state, address=address, lan=lan, shown_steps=steps)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", proxy_headers=False, server_header=False)
    try:
        uvicorn.Server(config).run(sockets=[sock])
    except KeyboardInterrupt:
        pass  # uvicorn stops on Ctrl-C, then raises it again: a traceback after a stop, for a teacher
    print("The room's board stopped.", flush=True)
    return 0
