"""The room's board: its state (the room code, a row per participant) and the reports that change it.

Each participant's `grade` posts its result to the board with the room code
(shared/exercise/board_report.py); the first report of a row gets a token back, and only that
token updates the row later. The state is one JSON file in the board's folder, written whole each
time. The page and the command are in shared/exercise/board_app.py.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import secrets
import unicodedata
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from starlette.requests import Request

from shared.exercise import EXERCISES, STEPS, Move, Step
from shared.exercise.board_report import NAME_CHARS, write_private

STATE_DIR = EXERCISES / ".board"
STATE_FILE = "board.json"
# No 0/O/Q, 1/I/L, 2/Z, 5/S, 8/B: a code read off a projector is typed without a second look.
ROOM_ALPHABET = "ACDEFGHJKMNPRTUVWXY34679"
ROOM_LENGTH = 6
MESSAGE_CHARS = 500  # a grader's message is one sentence; a longer one is cut, not refused


def new_room_code() -> str:
    return "".join(secrets.choice(ROOM_ALPHABET) for _ in range(ROOM_LENGTH))


def typed_code(code: str) -> str:
    """A room code as a participant may type it: lower case, with a space or a dash in the middle."""
    return code.upper().replace(" ", "").replace("-", "")


def columns(step: Step) -> list[tuple[str, Move]]:
    """The board's columns for a step: each entry file's moves, as the grader grades them."""
    return [(file, move) for file in step.files for move in step.moves_in(file)]


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
