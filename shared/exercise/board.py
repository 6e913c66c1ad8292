"""The room's board: one row per participant, one column per move, ✓ / ✗ / not tried, live.

`uv run python -m shared.exercise board` serves it on the teacher's laptop. Each participant's
`grade` posts its result to /report with the room code (shared/exercise/board_report.py); the
first report of a row gets a token back, and only that token updates the row later. The page and
its JSON answer only on the teacher's own laptop (loopback): the room sees the board when the
teacher projects it. The state is one JSON file in the board's folder, written whole each time.
"""

from __future__ import annotations

import contextlib
import copy
import errno
import hashlib
import hmac
import ipaddress
import json
import secrets
import socket
import sys
import time
import unicodedata
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import jinja2
from secure import ContentSecurityPolicy, ReferrerPolicy, Secure, XContentTypeOptions, XFrameOptions
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.exercise import EXERCISES, STEPS, Move, Step, shown_path
from shared.exercise.board_report import NAME_CHARS, write_private

HERE = Path(__file__).resolve().parent
STATE_DIR = EXERCISES / ".board"
STATE_FILE = "board.json"
# No 0/O/Q, 1/I/L, 2/Z, 5/S, 8/B: a code read off a projector is typed without a second look.
ROOM_ALPHABET = "ACDEFGHJKMNPRTUVWXY34679"
ROOM_LENGTH = 6
MESSAGE_CHARS = 500  # a grader's message is one sentence; a longer one is cut, not refused
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]"})


def new_room_code() -> str:
    return "".join(secrets.choice(ROOM_ALPHABET) for _ in range(ROOM_LENGTH))


def typed_code(code: str) -> str:
    """A room code as a participant may type it: lower case, with a space or a dash in the middle."""
    return code.upper().replace(" ", "").replace("-", "")


def columns(step: Step) -> list[tuple[str, Move]]:
    """The board's columns for a step: each entry file's moves, as the grader grades them."""
    return [(file, move) for file in step.files for move in step.moves]


def column_key(file: str, move: str) -> str:
    return f"{file}:{move}"


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# ---- the state ------------------------------------------------------------------------------


@dataclass
class Cell:
    done: bool
    message: str
    at: float  # when it was graded, seconds since the epoch


@dataclass
class Row:
    id: str  # public, in the page's element ids; the token is never shown
    name: str
    token_sha256: str
    steps: dict[str, dict[str, Cell]] = field(default_factory=dict)  # step -> column key -> cell

    def last_graded(self, step: str) -> float | None:
        cells = self.steps.get(step, {})
        return max((cell.at for cell in cells.values()), default=None)


class StateError(Exception):
    """The board's state file cannot be read: said in one line at start, the file left as it is."""


class BoardState:
    """The room code and the rows, kept in one file (mode 0600) that survives a restart."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / STATE_FILE
        self.room = new_room_code()
        self.version = 0  # goes up with every change; the page's script polls it
        self.rows: list[Row] = []
        if self.path.exists():
            self.load()
        else:
            self.save()

    def load(self) -> None:
        try:
            saved = json.loads(self.path.read_text(encoding="utf-8"))
            self.room = str(saved["room"])
            self.version = int(saved["version"])
            self.rows = [
                Row(
                    str(row["id"]),
                    str(row["name"]),
                    str(row["token_sha256"]),
                    {
                        str(step): {
                            str(key): Cell(bool(c["done"]), str(c["message"]), float(c["at"]))
                            for key, c in cells.items()
                        }
                        for step, cells in row["steps"].items()
                    },
                )
                for row in saved["rows"]
            ]
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
            raise StateError(
                f"{self.path} is not a board's state ({type(error).__name__}: {error}); "
                "move it away, or start with --clear to begin an empty board"
            ) from error

    def save(self) -> None:
        data = {"room": self.room, "version": self.version, "rows": [asdict(row) for row in self.rows]}
        write_private(self.path, json.dumps(data, ensure_ascii=False, indent=1) + "\n")

    def clear(self) -> int:
        """Forget every row and pick a new room code (the last group's tokens then fit no room)."""
        forgotten = len(self.rows)
        self.rows = []
        self.room = new_room_code()
        self.version += 1
        self.save()
        return forgotten

    def row_with_token(self, token: str) -> Row | None:
        wanted = digest(token)
        return next((row for row in self.rows if hmac.compare_digest(row.token_sha256, wanted)), None)

    def row_named(self, name: str) -> Row | None:
        folded = name.casefold()
        return next((row for row in self.rows if row.name.casefold() == folded), None)


# ---- limits ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Limits:
    body_bytes: int = 64 * 1024  # a whole step's result is a few KB
    participants: int = 200
    reports_per_row: int = 20  # per `window` seconds: a grade takes seconds, so a person never gets near
    reports_per_address: int = 30  # first reports and refused ones, per client address
    window: float = 600.0


class Window:
    """At most `limit` events per key in the last `seconds` (a sliding window), for a bounded set of keys."""

    def __init__(self, limit: int, seconds: float, clock: Callable[[], float], max_keys: int = 4096) -> None:
        self.limit, self.seconds, self.clock, self.max_keys = limit, seconds, clock, max_keys
        self.events: dict[str, deque[float]] = {}

    def retry_after(self, key: str) -> float | None:
        """Count one event for `key`; None when allowed, else the seconds until the next one is."""
        now = self.clock()
        if key not in self.events and len(self.events) >= self.max_keys:
            self.events = {k: e for k, e in self.events.items() if e and e[-1] > now - self.seconds}
            if len(self.events) >= self.max_keys:
                return self.seconds
        stamps = self.events.setdefault(key, deque())
        while stamps and stamps[0] <= now - self.seconds:
            stamps.popleft()
        if len(stamps) >= self.limit:
            return stamps[0] + self.seconds - now
        stamps.append(now)
        return None


# ---- reports --------------------------------------------------------------------------------


class Refused(Exception):
    """A report the board does not take: its status and the sentence the participant reads."""

    def __init__(self, status: int, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.retry_after = status, message, retry_after


@dataclass(frozen=True)
class Report:
    room: str
    name: str
    token: str | None
    step: Step
    cells: dict[str, Cell]


def parse_report(body: bytes, now: float) -> Report:
    """The report as the board keeps it, or Refused(400) saying what is wrong with it."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise Refused(400, "the report is not JSON") from None
    if not isinstance(data, dict):
        raise Refused(400, "the report is not a JSON object")
    room, token, result = data.get("room"), data.get("token"), data.get("result")
    if not isinstance(room, str) or not room.strip():
        raise Refused(401, "the report has no room code: the teacher's board printed it (--room CODE)")
    if token is not None and (not isinstance(token, str) or not 0 < len(token) <= 100):
        raise Refused(400, "the report's token is not one this board gives")
    name = clean_name(data.get("name"))
    if not isinstance(result, dict):
        raise Refused(400, "the report has no result: it is what `grade --json` prints")
    folder = result.get("step")
    step = STEPS.get(folder) if isinstance(folder, str) else None
    if step is None:
        raise Refused(400, f"the report's step is none of this board's: {', '.join(STEPS)}")
    outcomes = result.get("outcomes")
    known = {column_key(file, move.function) for file, move in columns(step)}
    if not isinstance(outcomes, list) or not 0 < len(outcomes) <= len(known):
        raise Refused(400, "the report's outcomes are not a list of this step's moves")
    cells: dict[str, Cell] = {}
    for outcome in outcomes:
        if not isinstance(outcome, dict):
            raise Refused(400, "each outcome is a JSON object with file, move, done and message")
        file, move, done, message = (outcome.get(k) for k in ("file", "move", "done", "message"))
        if not (isinstance(file, str) and isinstance(move, str) and isinstance(done, bool)):
            raise Refused(400, "each outcome is a JSON object with file, move, done and message")
        key = column_key(file, move)
        if key not in known:
            raise Refused(
                400,
                f"{step.folder} has no move {move!r} in {file!r} on this board: "
                "the board and your copy come from different versions of the repository",
            )
        text = message if isinstance(message, str) else ""
        shown = text if len(text) <= MESSAGE_CHARS else text[: MESSAGE_CHARS - 1] + "…"
        cells[key] = Cell(done, "" if done else shown, now)
    return Report(room.strip(), name, token, step, cells)


def clean_name(name: object) -> str:
    """A participant's name as the board shows it: printable, one line, at most NAME_CHARS."""
    if not isinstance(name, str):
        raise Refused(400, "the report has no name (--name NAME or EXERCISE_NAME)")
    shown = " ".join(name.split())
    if not shown or len(shown) > NAME_CHARS:
        raise Refused(400, f"a name is 1 to {NAME_CHARS} characters (--name NAME or EXERCISE_NAME)")
    if any(unicodedata.category(char) in ("Cc", "Cf", "Co", "Cs") for char in shown):
        raise Refused(400, "a name is plain text: no control or formatting characters")
    return shown


class Board:
    """What the board's routes share: the state, the limits, the clock (a parameter, for tests)."""

    def __init__(self, state: BoardState, limits: Limits, clock: Callable[[], float]) -> None:
        self.state, self.limits, self.clock = state, limits, clock
        self.per_row = Window(limits.reports_per_row, limits.window, clock)
        self.per_address = Window(limits.reports_per_address, limits.window, clock)

    def stranger(self, address: str) -> None:
        """Count a report that no row's token vouches for; refuse once an address sent too many."""
        wait = self.per_address.retry_after(address)
        if wait is not None:
            raise Refused(429, "too many reports from this laptop: wait, then grade again", wait)

    def take(self, body: bytes, address: str) -> tuple[int, dict[str, Any]]:
        """Apply one report; return the status and JSON to answer with. Refused changes nothing."""
        try:
            report = parse_report(body, self.clock())
        except Refused:
            self.stranger(address)
            raise
        # As bytes: compare_digest refuses a str with a character beyond ASCII (a TypeError, a 500).
        right_room = hmac.compare_digest(typed_code(report.room).encode(), self.state.room.encode())
        row = self.state.row_with_token(report.token) if report.token else None
        if row is None or not right_room:
            self.stranger(address)
        if not right_room:
            raise Refused(403, "wrong room code: use the one the teacher's board shows")
        if report.token and row is None:
            raise Refused(403, "this token is for no row on this board: delete exercises/.board-token")
        before = copy.deepcopy(self.state.rows), self.state.version
        token = None
        if row is None:
            if self.state.row_named(report.name):
                raise Refused(409, f"the name {report.name!r} is taken: pick another (--name or EXERCISE_NAME)")
            if len(self.state.rows) >= self.limits.participants:
                raise Refused(409, f"the board is full ({self.limits.participants} participants)")
            token = secrets.token_urlsafe(24)
            row = Row(secrets.token_hex(4), report.name, digest(token))
            self.state.rows.append(row)
        else:
            wait = self.per_row.retry_after(row.id)
            if wait is not None:
                raise Refused(429, "too many reports: wait a minute, then grade again", wait)
            other = self.state.row_named(report.name)
            if other is not None and other is not row:
                raise Refused(409, f"the name {report.name!r} is taken: pick another (--name or EXERCISE_NAME)")
            row.name = report.name
        row.steps.setdefault(report.step.folder, {}).update(report.cells)
        self.state.version += 1
        try:
            self.state.save()
        except OSError as error:  # a full disk, a folder removed: the report is not taken, nothing half-kept
            self.state.rows, self.state.version = before
            raise Refused(503, f"the board could not save its state ({error.strerror}): tell the teacher") from None
        answer: dict[str, Any] = {"name": row.name, "step": report.step.folder}
        if token:
            answer["token"] = token
        return (201 if token else 200), answer


async def read_capped(request: Request, limit: int) -> bytes:
    """The body, or Refused(413) as soon as it is longer than `limit`: never read whole first."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise Refused(413, f"the report is larger than {limit // 1024} KB")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise Refused(413, f"the report is larger than {limit // 1024} KB")
    return bytes(body)


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
        address = request.client.host if request.client else ""
        try:
            try:
                if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
                    raise Refused(415, "a report is JSON (content-type: application/json), as `grade` sends it")
                body = await read_capped(request, board.limits.body_bytes)
            except Refused:
                board.stranger(address)
                raise
            status, answer = board.take(body, address)
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


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


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
