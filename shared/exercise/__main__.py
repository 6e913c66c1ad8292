"""`uv run python -m shared.exercise start|reset|solution|check STEP`: a participant's exercise copy.

Exit codes: 0 done; 1 `check` found moves not done yet; 2 bad input (an unknown step or move, a
copy that does not exist), with one line saying what is wrong.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import TextIO

from shared.exercise import (
    EXERCISES,
    STEPS,
    ExerciseError,
    Step,
    existing_copy,
    reset,
    shown_path,
    solution,
    start,
    step_named,
)

PROG = "python -m shared.exercise"


def parser() -> argparse.ArgumentParser:
    steps = ", ".join(STEPS)
    main = argparse.ArgumentParser(
        prog=PROG,
        description="Your own copy of a step with the moves of its lesson left blank, and a check "
        "that grades it. The finished step stays as it is: it is the solution.",
    )
    commands = main.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=text, description=text)
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
    sub = command("solution", "Print the finished code of one move.")
    sub.add_argument("move", metavar="MOVE", help="the move's function, e.g. check_session")
    sub.add_argument("--file", help="the entry file, for a step with two (03: wrapper_app.py)")
    sub = command("check", "Grade the copy: one line per move, ✓ done or ✗ and what to fix.")
    sub.add_argument("--json", action="store_true", help="the same as JSON, for a script")
    sub.add_argument("--file", help="grade only this entry file (03: cookie_app.py or wrapper_app.py)")
    return main


def run(argv: list[str] | None = None, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    args = parser().parse_args(argv)
    try:
        step = step_named(args.step)
        if args.command == "start":
            copy = start(step, args.into)
            for file in step.files:
                print(f"Your copy: uv run {shown_path(copy / file)}", file=out)
            print(f"When a move is written: uv run {PROG} check {step.folder}", file=out)
        elif args.command == "reset":
            copy = reset(step, args.into, args.move, solved=args.solved)
            what = f"{args.move} in " if args.move else ""
            done = "finished code put back" if args.solved else "started again"
            print(f"{what}{shown_path(copy)}: {done}", file=out)
        elif args.command == "solution":
            print(solution(step, args.move, args.file), file=out)
        else:
            return check(step, args.into, args.file, as_json=args.json, out=out)
    except ExerciseError as error:
        print(f"{PROG} {args.command}: error: {error}", file=sys.stderr)
        return 2
    return 0


def check(step: Step, into: Path | None, file: str | None, *, as_json: bool, out: TextIO) -> int:
    from shared.exercise.grading import grade  # uvicorn and the dev tenant: only for check

    copy = existing_copy(step, into)
    if file is not None and file not in step.files:
        raise ExerciseError(f"{step.folder} has no entry file {file!r}; its files: {', '.join(step.files)}")
    began = time.monotonic()
    outcomes = grade(step, copy, (file,) if file else step.files)
    done = sum(outcome.done for outcome in outcomes)
    if as_json:
        summary = {
            "step": step.folder,
            "copy": str(copy),
            "done": done,
            "moves": len(outcomes),
            "seconds": round(time.monotonic() - began, 1),
            "outcomes": [outcome.as_dict() for outcome in outcomes],
        }
        print(json.dumps(summary, ensure_ascii=False, indent=2), file=out)
    else:
        several = len(step.files) > 1
        for outcome in outcomes:
            where = f"{outcome.file}  " if several else ""
            line = f"{'✓' if outcome.done else '✗'} {where}{outcome.title} ({outcome.move})"
            print(line + ("" if outcome.done else f": {outcome.message}"), file=out)
        print(f"{done} of {len(outcomes)} moves done", file=out)
    return 0 if done == len(outcomes) else 1


if __name__ == "__main__":
    sys.exit(run())
