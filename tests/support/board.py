"""The room's board for tests: served on a free loopback port, read back as a teacher sees it."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx2

from shared.exercise import STEPS
from shared.exercise.board import BoardState, Limits, columns
from shared.exercise.board_app import create_board_app
from tests.support.servers import free_port, serve


@dataclass
class RunningBoard:
    url: str
    state: BoardState

    @property
    def room(self) -> str:
        return self.state.room

    def post(self, body: Any, **headers: str) -> httpx2.Response:
        """POST /report as `grade` would, or with whatever body and headers a test needs."""
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        sent = {"content-type": "application/json", **headers}
        return httpx2.post(f"{self.url}/report", content=content, headers=sent, trust_env=False, timeout=10)

    def page(self) -> str:
        answer = httpx2.get(f"{self.url}/", trust_env=False, timeout=10)
        assert answer.status_code == 200, answer.text
        return answer.text


@contextlib.contextmanager
def running_board(
    folder: Path, clock: Callable[[], float] | None = None, address: str | None = None, **limits: Any
) -> Iterator[RunningBoard]:
    """The board on a free loopback port; `address` is the one its page tells the room (a LAN one)."""
    state = BoardState(folder)
    port = free_port()
    url = f"http://localhost:{port}"
    options: dict[str, Any] = {"clock": clock} if clock else {}
    app = create_board_app(state, address=address or url, lan=address is not None, limits=Limits(**limits), **options)
    with serve(app, port, proxy_headers=False):
        yield RunningBoard(url, state)


def report(
    room: str, name: str, step: str = "01-Login", done: dict[str, bool] | None = None, token: str | None = None
) -> dict[str, Any]:
    """A report as `grade --json` makes it: every move of the step, done or not as `done` says."""
    outcomes = []
    for file, move in columns(STEPS[step]):
        finished = (done or {}).get(move.function, False)
        message = "" if finished else f"not written yet: write the body of {move.function}()"
        outcomes.append(
            {"file": file, "move": move.function, "title": move.title, "done": finished, "message": message}
        )
    moves = len(outcomes)
    result = {"step": step, "done": sum(o["done"] for o in outcomes), "moves": moves, "outcomes": outcomes}
    body: dict[str, Any] = {"room": room, "name": name, "result": result}
    if token:
        body["token"] = token
    return body


@dataclass
class SeenRow:
    name: str
    cells: list[str] = field(default_factory=list)  # "done", "not done", "not tried", as a screen reader says
    messages: list[str] = field(default_factory=list)


class BoardPage(HTMLParser):
    """Each step's table on the board's page: its rows in order, each cell as its words say it."""

    def __init__(self) -> None:
        super().__init__()
        self.steps: dict[str, list[SeenRow]] = {}
        self.counts: dict[str, list[str]] = {}  # per move: "1 of 3 done"
        self._step = ""
        self._reading: str | None = None  # what the text being read is: a heading, a name, a cell...
        self._text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        kind = {
            "h2": "step",
            "th": "name" if values.get("scope") == "row" else None,
            "span": {"visually-hidden": "cell", "count": "count"}.get(values.get("class") or ""),
            "p": "message" if self._step else None,
        }.get(tag)
        if kind:
            self._reading, self._text = kind, ""

    def handle_endtag(self, tag: str) -> None:
        if self._reading is None or tag not in ("h2", "th", "span", "p"):
            return
        text, kind = " ".join(self._text.split()), self._reading
        self._reading = None
        if kind == "step":
            self._step = text
            self.steps[text], self.counts[text] = [], []
        elif kind == "name":
            self.steps[self._step].append(SeenRow(text))
        elif kind == "cell" and self.steps.get(self._step):
            self.steps[self._step][-1].cells.append(text.removesuffix(", why"))
        elif kind == "count":
            self.counts[self._step].append(text)
        elif kind == "message" and self.steps.get(self._step):
            self.steps[self._step][-1].messages.append(text)

    def handle_data(self, data: str) -> None:
        self._text += data

    @staticmethod
    def read(html: str) -> BoardPage:
        parser = BoardPage()
        parser.feed(html)
        return parser
