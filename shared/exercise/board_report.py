"""A participant's `grade` reports its result to the room's board (shared/exercise/board.py).

The report is what `grade --json` prints, without the copy's path: the step, and per move its
name, ✓/✗ and message. Never the participant's code or files. The board gives a token back at the
first report; it is kept in the exercises folder (`.board-token`, git-ignored with the copies) and
sent with later reports, so nobody else can write this participant's row.
"""

from __future__ import annotations

import getpass
import json
import os
import socket
import tempfile
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ENV_BOARD = "EXERCISE_BOARD"
ENV_ROOM = "EXERCISE_ROOM"
ENV_NAME = "EXERCISE_NAME"
TOKEN_FILE = ".board-token"
TIMEOUT = 3.0  # seconds: a board that does not answer by then is treated as absent
NAME_CHARS = 40


def write_private(path: Path, text: str) -> None:
    """Write `text` to `path` at once (a reader sees the old file or the new one), readable by the owner only."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-", suffix=".tmp")  # mode 0600
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def default_name() -> str:
    """login@laptop: classroom laptops often share one login name, rarely one host name too."""
    try:
        login = getpass.getuser()
    except (KeyError, OSError):  # no login name to be found (a container, an odd account)
        login = "participant"
    host = socket.gethostname().split(".")[0]
    return f"{login}@{host}"[:NAME_CHARS] if host else login[:NAME_CHARS]


@dataclass(frozen=True)
class Destination:
    url: str  # the board's address, e.g. http://192.168.1.20:8800
    room: str
    name: str


def destination(
    board: str | None, room: str | None, name: str | None, environ: Mapping[str, str] | None = None
) -> Destination | None:
    """Where to report, from the options first, then the environment; None when no board is set."""
    env = os.environ if environ is None else environ
    url = (board or env.get(ENV_BOARD, "")).strip()
    if not url:
        return None
    if "://" not in url:
        url = f"http://{url}"  # what people write on a whiteboard: 192.168.1.20:8800
    chosen = (name or env.get(ENV_NAME, "")).strip() or default_name()
    return Destination(url.rstrip("/"), (room or env.get(ENV_ROOM, "")).strip(), chosen)


def report_body(summary: Mapping[str, Any]) -> dict[str, Any]:
    """The part of `grade --json` the board gets: no path of the participant's laptop."""
    return {key: value for key, value in summary.items() if key != "copy"}


def saved_token(folder: Path, where: Destination) -> str | None:
    try:
        saved = json.loads((folder / TOKEN_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(saved, dict) or saved.get("board") != where.url or saved.get("room") != where.room:
        return None  # a token is for one board's one room: another room starts a new row
    token = saved.get("token")
    return token if isinstance(token, str) else None


def send(summary: Mapping[str, Any], where: Destination, folder: Path) -> str:
    """Report to the board; return the one line to print, whether the report went through or not."""
    if not where.room:
        return f"The report to the board did not go through: no room code (--room CODE or {ENV_ROOM})."
    if not where.url.startswith(("http://", "https://")):
        return f"The report to the board did not go through: {where.url} is not an http:// address."
    body: dict[str, Any] = {"room": where.room, "name": where.name, "result": report_body(summary)}
    token = saved_token(folder, where)
    if token:
        body["token"] = token
    request = urllib.request.Request(  # noqa: S310 (http or https, checked above)
        f"{where.url}/report",
        data=json.dumps(body, ensure_ascii=False).encode(),
        headers={"content-type": "application/json"},
        method="POST",
    )
    # No proxy: the board is on the room's network, and a proxy set for the internet would not reach it.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=TIMEOUT) as response:
            answer = json.load(response)
    except urllib.error.HTTPError as error:
        return f"The report to the board did not go through: {refusal(error)}"
    except (OSError, ValueError) as error:  # refused, unreachable, timed out, or not the board answering
        why = "no answer" if isinstance(error, OSError) else "the answer was not the board's"
        return f"The report to the board at {where.url} did not go through ({why}); your ✓/✗ above stands."
    new_token = answer.get("token") if isinstance(answer, dict) else None
    if isinstance(new_token, str) and new_token != token:
        saved = {"board": where.url, "room": where.room, "token": new_token}
        try:
            write_private(folder / TOKEN_FILE, json.dumps(saved) + "\n")
        except OSError as error:
            return f"Reported to the board as {where.name}, but its token could not be kept ({error.strerror})."
    return f"Reported to the board at {where.url} as {where.name}."


def refusal(error: urllib.error.HTTPError) -> str:
    """The board's own words for a refused report (its JSON `error`), else the status."""
    try:
        said = json.loads(error.read(4096)).get("error")
    except (OSError, ValueError, AttributeError):
        said = None
    if not isinstance(said, str):
        return f"the board answered {error.code}"
    # Printed in the participant's terminal: no control characters (an escape sequence) get through.
    return "".join(char for char in said[:200] if char.isprintable()) + f" ({error.code})"
