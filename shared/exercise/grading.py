"""Grading a participant's copy: the lesson's behaviour checks, run against the copy, in process.

Each move is graded on its own: the copy's entry file is loaded with the copy's version of that one
move and the finished version of the others, so a blank Log In does not also fail Callback and a
mistake shows up under the move that made it. The app is served on a loopback port against a dev
tenant started here (in a temporary folder, built for tests so that its faults can be switched on),
and driven over HTTP the way a browser would, without one.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2

from shared.exercise import Move, Step, blank_line, function_source, replace_function, shown_path
from shared.exercise.copies import read_copy
from shared.exercise.driving import MoveGrader, finished_entry_files, graded_app
from shared.exercise.serving import Grader, Unmet, running_tenant


@dataclass(frozen=True)
class Outcome:
    file: str
    move: str  # the function
    title: str  # the move as the README calls it
    done: bool
    message: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "move": self.move,
            "title": self.title,
            "done": self.done,
            "message": self.message,
        }


def graded_source(copy_source: str, finished_source: str, moves: tuple[Move, ...], move: Move) -> str:
    """The copy's file with every move of the file (`moves`) but `move` put back as finished."""
    source = copy_source
    for other in moves:
        if other.function != move.function:
            source = replace_function(source, other.function, function_source(finished_source, other.function))
    return source


def grade_move(grader: Grader, step: Step, copy: Path, file: str, move: Move, check: MoveGrader) -> Outcome:
    from shared.exercise import solution_file

    path = copy / file
    copy_source = read_copy(path)
    try:
        line = blank_line(copy_source, move.function)
    except SyntaxError as error:
        message = f"the copy does not load: {error.msg} at {shown_path(path)}, line {error.lineno}"
        return Outcome(file, move.function, move.title, False, message)
    if line:
        where = f"write the body of {move.function}() in {shown_path(path)}, line {line}"
        return Outcome(file, move.function, move.title, False, f"not written yet: {where}")
    finished = solution_file(step, file).read_text(encoding="utf-8")
    loaded = False
    try:
        source = graded_source(copy_source, finished, step.moves_in(file), move)
        with graded_app(grader, path, source, finished_entry_files(step, file)) as run:
            loaded = True
            try:
                check(run)
            except Unmet as unmet:
                return Outcome(file, move.function, move.title, False, f"{unmet}{run.raised()}")
            except httpx2.HTTPError as error:
                message = f"the app did not answer ({type(error).__name__}){run.raised()}"
                return Outcome(file, move.function, move.title, False, message)
    except Unmet as unmet:
        return Outcome(file, move.function, move.title, False, str(unmet))
    except Exception as error:  # the copy does not load, or a check broke: say where, no traceback
        if loaded:
            message = f"the check itself failed ({type(error).__name__}: {error}): tell the teacher"
            return Outcome(file, move.function, move.title, False, message)
        frames = [frame for frame in traceback.extract_tb(error.__traceback__) if frame.filename == str(path)]
        where = f" at {shown_path(path)}, line {frames[-1].lineno}" if frames else ""
        line = getattr(error, "lineno", None) if isinstance(error, SyntaxError) else None
        where = where or (f" at {shown_path(path)}, line {line}" if line else "")
        message = f"the copy does not load: {type(error).__name__}: {error}{where}"
        return Outcome(file, move.function, move.title, False, message)
    return Outcome(file, move.function, move.title, True)


def grade(step: Step, copy: Path, files: tuple[str, ...] | None = None) -> list[Outcome]:
    from shared.exercise.graders import GRADERS

    outcomes = []
    with running_tenant() as grader:
        for file in files or step.files:
            for move in step.moves_in(file):
                check = GRADERS[step.folder][move.function]
                outcomes.append(grade_move(grader, step, copy, file, move, check))
    return outcomes
