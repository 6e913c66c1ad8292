"""Exercises: a participant's own copy of a step, with the moves of its lesson left blank.

`uv run python -m shared.exercise start 03-Session-Handling` copies the step folder to
`exercises/03-Session-Handling/` and blanks each move (a top-level function, found by name with
`ast`): its decorators, signature and docstring stay, its body becomes a TODO naming the README
section that teaches it and a `raise NotWrittenYet(...)`. The finished step is never touched: it is
the solution. A running copy shows a blank move as a 501 page naming it, the file and the line.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from shared.pages import error_page

ROOT = Path(__file__).resolve().parents[2]
EXERCISES = ROOT / "exercises"


@dataclass(frozen=True)
class Move:
    function: str  # the top-level function in the entry file
    title: str  # the move as the README calls it
    anchor: str  # the README section that teaches it


@dataclass(frozen=True)
class EntryFile:
    name: str  # the entry file, in the step's folder
    moves: tuple[Move, ...]  # the moves it holds: each move is written once, in one file


@dataclass(frozen=True)
class Step:
    folder: str
    entries: tuple[EntryFile, ...]

    @property
    def files(self) -> tuple[str, ...]:
        return tuple(entry.name for entry in self.entries)

    @property
    def moves(self) -> tuple[Move, ...]:
        return tuple(move for entry in self.entries for move in entry.moves)

    def moves_in(self, file: str) -> tuple[Move, ...]:
        return next((entry.moves for entry in self.entries if entry.name == file), ())

    def file_of(self, function: str) -> str:
        """The entry file that holds move `function` (an unknown move: ExerciseError)."""
        self.move(function)
        return next(entry.name for entry in self.entries if function in names(entry.moves))

    def move(self, function: str) -> Move:
        for move in self.moves:
            if move.function == function:
                return move
        raise ExerciseError(f"{self.folder} has no move {function!r}; its moves: {', '.join(names(self.moves))}")


def names(moves: tuple[Move, ...]) -> list[str]:
    return [move.function for move in moves]


WRAPPER_SECTION = "the-same-with-a-wrapper-library"

STEPS = {
    "01-Login": Step(
        "01-Login",
        (
            EntryFile(
                "app.py",
                (
                    Move("login", "Log In", "log-in"),
                    Move("callback", "Callback", "the-callback"),
                    Move("logout", "Log Out", "log-out"),
                ),
            ),
        ),
    ),
    # start_session is a move of its own: both forms end there, and it is where the password
    # grant's id_token is verified and a fresh session begins.
    "02-Custom-Login": Step(
        "02-Custom-Login",
        (
            EntryFile(
                "app.py",
                (
                    Move("login", "Log In with a password", "log-in"),
                    Move("signup", "Sign Up", "sign-up"),
                    Move("start_session", "Start Session", "start-session"),
                    Move("login_with_google", "Log In with Google", "log-in-with-google"),
                ),
            ),
        ),
    ),
    # The lesson's four moves are cookie_app.py's; wrapper_app.py's are the three calls the Lockr
    # variant changes, which cookie_app.py's moves make through the id_token's holder.
    "03-Session-Handling": Step(
        "03-Session-Handling",
        (
            EntryFile(
                "cookie_app.py",
                (
                    Move("callback", "Create Session", "create-session"),
                    Move("check_session", "Check Session", "check-session"),
                    Move("logout", "Logout", "logout"),
                    Move("backchannel_logout", "Back-channel logout", "back-channel-logout"),
                ),
            ),
            EntryFile(
                "wrapper_app.py",
                (
                    Move("store_id_token", "Store the id_token (Lockr.set)", WRAPPER_SECTION),
                    Move("read_id_token", "Read the id_token (Lockr.get)", WRAPPER_SECTION),
                    Move("erase_id_token", "Erase the id_token (Lockr.rm)", WRAPPER_SECTION),
                ),
            ),
        ),
    ),
}

IMPORT_LINE = "from shared.exercise import NotWrittenYet, show_blank_moves"
WRAP_LINE = "create_app = show_blank_moves(create_app)  # a blank move shows a page naming it"


class ExerciseError(Exception):
    """Bad input for the exercise command: an unknown step or move, a copy that does not exist."""


class NotWrittenYet(HTTPException):
    """Raised by a blank move. An HTTPException, so that a blank Check Session, which runs in a
    middleware before any route, still draws a page (shared/check_session.py hands those to the
    app's handler) instead of reading as logged out."""

    def __init__(self, move: str) -> None:
        caller = sys._getframe(1)  # the blank itself: its file and line are where to write
        self.move = move
        self.function = caller.f_code.co_name
        self.file = shown_path(Path(caller.f_code.co_filename))
        self.line = caller.f_lineno
        self.title = f"Not written yet: {move}"
        super().__init__(
            501,
            f"{move} is not written yet: write the body of {self.function}() in {self.file}, "
            f"line {self.line}, then restart the app.",
        )


def shown_path(path: Path) -> str:
    """A path as a participant types it: relative to the working directory when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def show_blank_moves(create_app: Callable[..., Starlette]) -> Callable[..., Starlette]:
    """Wrap a copy's factory so a NotWrittenYet draws "Not written yet: MOVE" (status 501)."""

    def create(*args: Any, **kwargs: Any) -> Starlette:
        app = create_app(*args, **kwargs)

        async def page(request: Request, exc: Exception) -> Response:
            assert isinstance(exc, NotWrittenYet)
            return error_page(request, exc.status_code, exc.title, exc.detail)

        # CheckSessionMiddleware picks the most specific handler too, so a blank Check Session
        # draws this page as well as a blank route does.
        app.add_exception_handler(NotWrittenYet, page)
        return app

    return create


# ---- finding and replacing moves -----------------------------------------------------------


def find_function(source: str, name: str) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == name:
            return node
    return None


def function_lines(source: str, name: str) -> tuple[int, int]:
    """The 0-based [start, end) lines of top-level function `name`, decorators included."""
    node = find_function(source, name)
    if node is None:
        raise ExerciseError(f"no top-level function {name!r} in this file")
    first = min([node.lineno, *(decorator.lineno for decorator in node.decorator_list)])
    assert node.end_lineno is not None
    return first - 1, node.end_lineno


def function_source(source: str, name: str) -> str:
    start, end = function_lines(source, name)
    return "\n".join(source.splitlines()[start:end])


def blank_body(move: Move, folder: str, indent: str) -> list[str]:
    return [
        f"{indent}# TODO: {move.title}. Write this function's body, then grade it with",
        f"{indent}# `uv run python -m shared.exercise {GRADE} {folder}`.",
        f"{indent}# How: {folder}/README.md#{move.anchor}",
        f'{indent}raise NotWrittenYet("{move.title}")',
    ]


def blank_function(source: str, move: Move, folder: str) -> str:
    """`source` with the body of `move` replaced by its TODO; decorators, signature, docstring kept."""
    node = find_function(source, move.function)
    if node is None:
        raise ExerciseError(f"no top-level function {move.function!r} in this file")
    body = node.body
    has_docstring = (
        isinstance(body[0], ast.Expr)
        and isinstance(body[0].value, ast.Constant)
        and isinstance(body[0].value.value, str)
    )
    lines = source.splitlines()
    indent = " " * body[0].col_offset
    keep_until = body[0].end_lineno if has_docstring else body[0].lineno - 1
    assert keep_until is not None and node.end_lineno is not None
    new = lines[:keep_until] + blank_body(move, folder, indent) + lines[node.end_lineno :]
    return "\n".join(new) + "\n"


def blank_line(source: str, function: str) -> int | None:
    """The line of the exercise's `raise NotWrittenYet(...)` in the function, if it is still there."""
    node = find_function(source, function)
    if node is None:
        return None
    for child in ast.walk(node):
        if isinstance(child, ast.Raise) and isinstance(child.exc, ast.Call):
            called = child.exc.func
            if isinstance(called, ast.Name) and called.id == "NotWrittenYet":
                return child.lineno
    return None


def replace_function(source: str, name: str, new_function: str) -> str:
    start, end = function_lines(source, name)
    lines = source.splitlines()
    return "\n".join(lines[:start] + new_function.splitlines() + lines[end:]) + "\n"


def add_exercise_lines(source: str) -> str:
    """The import of NotWrittenYet, and the wrap of create_app, each once."""
    if IMPORT_LINE in source:
        return source
    tree = ast.parse(source)
    last_import = max(
        node.end_lineno or node.lineno for node in tree.body if isinstance(node, ast.Import | ast.ImportFrom)
    )
    _, factory_end = function_lines(source, "create_app")
    lines = source.splitlines()
    lines[factory_end:factory_end] = ["", "", WRAP_LINE]
    lines[last_import:last_import] = [IMPORT_LINE]
    return "\n".join(lines) + "\n"


def blank_file(source: str, step: Step, file: str) -> str:
    for move in step.moves_in(file):
        source = blank_function(source, move, step.folder)
    return add_exercise_lines(source)


# ---- the copy ------------------------------------------------------------------------------


def step_named(name: str) -> Step:
    step = STEPS.get(name.strip("/").removeprefix("./"))
    if step is None:
        raise ExerciseError(f"unknown step {name!r}; the steps: {', '.join(STEPS)}")
    return step


def solution_file(step: Step, file: str) -> Path:
    return ROOT / step.folder / file


GRADE = "grade"  # the command that grades a copy


def command_line(command: str, step: Step, into: Path | None = None) -> str:
    where = f" --into {shown_path(into)}" if into else ""
    return f"uv run python -m shared.exercise {command} {step.folder}{where}"


__all__ = [
    "EXERCISES",
    "STEPS",
    "EntryFile",
    "ExerciseError",
    "Move",
    "NotWrittenYet",
    "Step",
    "show_blank_moves",
]
