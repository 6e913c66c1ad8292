"""`uv run python -m shared.exercise start|reset|solution|grade STEP`: a participant's exercise copy;
`... board`: the room's board, where the participants' `grade` reports.

Exit codes: 0 done; 1 `grade` found moves not done yet; 2 bad input (an unknown step or move, a
copy that does not exist), with one line saying what is wrong.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import TextIO

from shared.exercise import EXERCISES, STEPS, ExerciseError, Step, shown_path, step_named
from shared.exercise.board import STATE_DIR
from shared.exercise.board_app import DEFAULT_PORT, run_board
from shared.exercise.board_report import ENV_BOARD, ENV_NAME, ENV_ROOM, Destination, destination, send
from shared.exercise.copies import Changed, existing_copy, reset, solution, start

PROG = "python -m shared.exercise"


def parser() -> argparse.ArgumentParser:
    steps = ", ".join(STEPS)
    main = argparse.ArgumentParser(
        prog=PROG,
        description="Your own copy of a step with the moves of its lesson left blank, and a grader "
        "that says which moves are done. The finished step stays as it is: it is the solution.",
    )
    commands = main.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, text: str, aliases: list[str] | None = None) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=text, description=text, aliases=aliases or [])
        sub.add_argument("step", metavar="STEP", help=f"one of {steps}")
        sub.add_argument(
            "--into",
            type=Path,
            default=None,
            metavar="DIR",
            help=f"the folder holding exercise copies (default: {shown_path(EXERCISES)})",
        )
        return sub

    command("start", "Copy STEP to DIR/STEP with its moves blank; run it as the step runs.")
    sub = command("reset", "Start the whole copy again, or one move of it with --move.")
    sub.add_argument("--move", metavar="MOVE", help="blank only this function again")
    sub.add_argument("--solved", action="store_true", help="put the finished code back instead of a blank")
    sub.add_argument("--file", help="reset only this entry file (03: cookie_app.py or wrapper_app.py)")
    sub = command("solution", "Print the finished code of one move.")
    sub.add_argument("move", metavar="MOVE", help="the move's function, e.g. check_session")
    sub.add_argument("--file", help="the entry file, for a step with two (03: wrapper_app.py)")
    # `check` was this command's name; "check" now means Check Session only (one word, one thing).
    sub = command("grade", "Grade the copy: one line per move, ✓ done or ✗ and what to fix.", aliases=["check"])
    sub.add_argument("--json", action="store_true", help="the same as JSON, for a script")
    sub.add_argument("--file", help="grade only this entry file (03: cookie_app.py or wrapper_app.py)")
    sub.add_argument(
        "--board", metavar="URL", help=f"also report the result to the room's board (default: ${ENV_BOARD})"
    )
    sub.add_argument("--room", metavar="CODE", help=f"the room code the board shows (default: ${ENV_ROOM})")
    sub.add_argument("--name", help=f"your name on the board (default: ${ENV_NAME}, else login@laptop)")
    text = "The room's board, on the teacher's laptop: each participant's moves, ✓ / ✗ / not tried, live."
    board = commands.add_parser("board", help=text, description=text)
    board.add_argument(
        "--host",
        default="127.0.0.1",
        help="where to listen: 127.0.0.1, this laptop only (default); 0.0.0.0, every network; or one address",
    )
    board.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"default: {DEFAULT_PORT}")
    board.add_argument(
        "--state",
        type=Path,
        default=None,
        metavar="DIR",
        help=f"the board's folder, kept across restarts (default: {shown_path(STATE_DIR)})",
    )
    board.add_argument("--clear", action="store_true", help="forget every row and pick a new room code first")
    board.add_argument(
        "--step", action="append", default=[], choices=list(STEPS), help="show this step before any report comes"
    )
    return main


def run(argv: list[str] | None = None, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    args = parser().parse_args(argv)
    if args.command == "board":
        return run_board(args.host, args.port, args.state, clear=args.clear, steps=args.step)
    try:
        step = step_named(args.step)
        if args.command == "start":
            copy = start(step, args.into)
            for file in step.files:
                print(f"Your copy: uv run {shown_path(copy / file)}", file=out)
            print(f"When a move is written: uv run {PROG} grade {step.folder}", file=out)
        elif args.command == "reset":
            changed = reset(step, args.into, args.move, solved=args.solved, file=args.file)
            print(reset_line(args.move, changed, solved=args.solved), file=out)
        elif args.command == "solution":
            print(solution(step, args.move, args.file), file=out)
        else:
            if args.command == "check":
                print(f"`check` is now called `grade`: uv run {PROG} grade {step.folder}", file=sys.stderr)
            where = destination(args.board, args.room, args.name)
            return grade_copy(step, args.into, args.file, as_json=args.json, out=out, board=where)
    except ExerciseError as error:
        print(f"{PROG} {args.command}: error: {error}", file=sys.stderr)
        return 2
    except OSError as error:  # --into a file, a folder without write access, a full disk
        named = f"{error.filename}: " if error.filename else ""
        print(f"{PROG} {args.command}: error: {named}{error.strerror or error}", file=sys.stderr)
        return 2
    return 0


def reset_line(move: str | None, changed: list[Changed], *, solved: bool) -> str:
    """One line: which files changed, and where the participant's own version of each is kept."""
    what = move or "every move"
    done = "finished code put back" if solved else "blank again"
    if not changed:
        return f"{what}: nothing to change"
    files = "; ".join(f"{shown_path(each.path)} (yours kept in {each.kept.name})" for each in changed)
    return f"{what}: {done} in {files}"


def grade_copy(
    step: Step, into: Path | None, file: str | None, *, as_json: bool, out: TextIO, board: Destination | None = None
) -> int:
    from shared.exercise.grading import grade  # uvicorn and the dev tenant: only for grade

    copy = existing_copy(step, into)
    if file is not None and file not in step.files:
        raise ExerciseError(f"{step.folder} has no entry file {file!r}; its files: {', '.join(step.files)}")
    began = time.monotonic()
    outcomes = grade(step, copy, (file,) if file else step.files)
    done = sum(outcome.done for outcome in outcomes)
    summary = {
        "step": step.folder,
        "copy": str(copy),
        "done": done,
        "moves": len(outcomes),
        "seconds": round(time.monotonic() - began, 1),
        "outcomes": [outcome.as_dict() for outcome in outcomes],
    }
    if as_json:
        print(json.dumps(summary, ensure_ascii=False, indent=2), file=out)
    else:
        several = len(step.files) > 1
        for outcome in outcomes:
            where = f"{outcome.file}  " if several else ""
            line = f"{'✓' if outcome.done else '✗'} {where}{outcome.title} ({outcome.move})"
            print(line + ("" if outcome.done else f": {outcome.message}"), file=out)
        print(f"{done} of {len(outcomes)} moves done", file=out)
    if board is not None:
        # On stderr: stdout stays the grade alone, the same with a board or without (--json parses).
        print(send(summary, board, copy.parent), file=sys.stderr)
    return 0 if done == len(outcomes) else 1


if __name__ == "__main__":
    sys.exit(run())
