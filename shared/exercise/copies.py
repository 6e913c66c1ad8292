"""The participant's copy of a step: made by `start`, blanked again or solved by `reset` (each file
it rewrites first kept beside itself), never a step folder or the repository itself."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from shared.exercise import (
    EXERCISES,
    GRADE,
    ROOT,
    STEPS,
    ExerciseError,
    Move,
    Step,
    add_exercise_lines,
    blank_file,
    blank_function,
    command_line,
    function_source,
    names,
    replace_function,
    shown_path,
    solution_file,
)


def copy_folder(step: Step, into: Path | None) -> Path:
    """Where the copy of `step` lives; never a step folder or the repository itself, whatever
    `into` is or links to: the finished step is the solution, and a copy is rewritten freely."""
    copy = (into or EXERCISES) / step.folder
    resolved = copy.resolve()
    if resolved == ROOT or in_a_step(copy):
        raise ExerciseError(
            f"{shown_path(copy)} is the repository's own {step.folder if resolved != ROOT else 'folder'}: "
            f"a copy lives elsewhere (leave out --into for {shown_path(EXERCISES)})"
        )
    return copy


def in_a_step(path: Path) -> bool:
    """Whether `path`, links followed, is in one of the repository's step folders."""
    resolved = path.resolve()
    return any(resolved.is_relative_to((ROOT / folder).resolve()) for folder in STEPS)


def existing_copy(step: Step, into: Path | None) -> Path:
    copy = copy_folder(step, into)
    if not all((copy / file).is_file() for file in step.files):
        start = command_line("start", step)
        raise ExerciseError(f"there is no exercise copy at {shown_path(copy)}: start one with `{start}`")
    return copy


def read_copy(path: Path) -> str:
    """A copy's file as text; a file that is not UTF-8 is named, not a traceback."""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise ExerciseError(f"{shown_path(path)} is not UTF-8 text (byte {error.start}): save it as UTF-8") from error


def start(step: Step, into: Path | None = None) -> Path:
    """Copy the step folder and blank its moves; an existing copy is never overwritten."""
    if into is not None and into.exists() and not into.is_dir():
        raise ExerciseError(f"{shown_path(into)} is a file: --into takes the folder that holds the copies")
    copy = copy_folder(step, into)
    if copy.exists():
        run = " or ".join(f"`uv run {shown_path(copy / file)}`" for file in step.files)
        raise ExerciseError(
            f"{shown_path(copy)} is already your copy: run it with {run}, grade it with `{command_line(GRADE, step, into)}`"
        )
    copy.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(ROOT / step.folder, copy, ignore=shutil.ignore_patterns("__pycache__"))
    for file in step.files:
        path = copy / file
        path.write_text(blank_file(path.read_text(encoding="utf-8"), step, file), encoding="utf-8")
    from shared.exercise.readme import copy_readme  # it needs this module's names

    for page in copy.glob("*.md"):  # README.md, and a Going further page beside it
        page.write_text(copy_readme(step, page.read_text(encoding="utf-8"), copy), encoding="utf-8")
    return copy


@dataclass(frozen=True)
class Changed:
    path: Path  # the copy's file, rewritten
    kept: Path  # the participant's version of it, kept beside it


def backup_path(path: Path) -> Path:
    """`cookie_app.py.bak`, or the first free `cookie_app.py.bak2`, `.bak3` … when it exists."""
    candidate, number = path.with_name(path.name + ".bak"), 1
    while candidate.exists():
        number += 1
        candidate = path.with_name(f"{path.name}.bak{number}")
    return candidate


def reset(
    step: Step,
    into: Path | None = None,
    move: str | None = None,
    *,
    solved: bool = False,
    file: str | None = None,
) -> list[Changed]:
    """Blank one move again (or every move); `solved` puts the finished code back instead.

    Nothing is lost: each file rewritten is first kept beside itself (backup_path).
    """
    copy = existing_copy(step, into)
    if move:
        step.move(move)
    if file is not None and file not in step.files:
        raise ExerciseError(f"{step.folder} has no entry file {file!r}; its files: {', '.join(step.files)}")
    if move and file and move not in names(step.moves_in(file)):
        raise ExerciseError(f"{move} is a move of {step.file_of(move)}, not of {file}")
    changed = []
    for name in (file,) if file else step.files:
        moves = tuple(each for each in step.moves_in(name) if not move or each.function == move)
        if not moves:
            continue
        path = copy / name
        if in_a_step(path):  # a copy's file linked to the finished one
            raise ExerciseError(f"{shown_path(path)} links into the repository's {step.folder}: copy it instead")
        mine = read_copy(path)
        finished = solution_file(step, name).read_text(encoding="utf-8")
        if not move and not solved:  # the whole file again, as `start` wrote it
            source = blank_file(finished, step, name)
        else:
            source = rewritten(step, path, mine, finished, moves, solved=solved)
        if source != mine:
            kept = backup_path(path)
            kept.write_text(mine, encoding="utf-8")
            path.write_text(source, encoding="utf-8")
            changed.append(Changed(path, kept))
    return changed


def rewritten(step: Step, path: Path, source: str, finished: str, moves: tuple[Move, ...], *, solved: bool) -> str:
    try:
        for each in moves:
            if solved:
                source = replace_function(source, each.function, function_source(finished, each.function))
            else:
                source = blank_function(source, each, step.folder)
    except (ExerciseError, SyntaxError) as error:
        again = f"`{command_line('reset', step)}` starts the whole copy again (keeping yours as .bak)"
        raise ExerciseError(f"{shown_path(path)}: {error}; {again}") from error
    return add_exercise_lines(source)


def solution(step: Step, move: str, file: str | None = None) -> str:
    chosen = file or step.file_of(move)
    if chosen not in step.files:
        raise ExerciseError(f"{step.folder} has no entry file {chosen!r}; its files: {', '.join(step.files)}")
    if move not in names(step.moves_in(chosen)):
        raise ExerciseError(f"{move} is a move of {step.file_of(move)}, not of {chosen}")
    return function_source(solution_file(step, chosen).read_text(encoding="utf-8"), move)
