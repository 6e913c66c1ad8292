"""The copy's README: the lesson's prose, without the finished code of its moves.

A step README quotes its code under a marker line (`<!-- listing: 01-Login/app.py#callback -->`,
tests/support/listings.py). In the copy, the listing of each move is replaced by a line saying
where to write it and how to see the finished move when stuck; every other listing stays. Links
relative to the step folder are rewritten to reach the repository from wherever the copy is.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from shared.exercise import ROOT, Step, command_line

MARKER = re.compile(r"^<!--\s*listing:\s*(?P<path>[^#\s]+)#(?P<region>[\w-]+)\s*-->\s*$")
FENCE = re.compile(r"^(```+|~~~+)")
LINK = re.compile(r"(?P<head>\]\()(?P<target>[^)\s]+)(?P<tail>\))")


def copy_readme(step: Step, source: str, copy: Path) -> str:
    return relink(without_moves(step, source), step, copy)


def without_moves(step: Step, source: str) -> str:
    moves = {
        f"{step.folder}/{file}#{move.function}": (file, move) for file in step.files for move in step.moves_in(file)
    }
    lines, kept, index = source.splitlines(), [], 0
    while index < len(lines):
        marker = MARKER.match(lines[index])
        quoted = marker and moves.get(f"{marker['path']}#{marker['region']}")
        fence = FENCE.match(lines[index + 1]) if quoted and index + 1 < len(lines) else None
        if not (quoted and fence):
            kept.append(lines[index])
            index += 1
            continue
        file, move = quoted
        end = index + 2
        while end < len(lines) and not lines[end].startswith(fence.group(1)):
            end += 1
        solution = f"{command_line('solution', step)} {move.function}"
        kept.append(
            f"*Your move: write the body of `{move.function}()` in [{file}]({file}). "
            f"Stuck? `{solution}` prints the finished move.*"
        )
        index = end + 1
    return "\n".join(kept) + "\n"


def relink(source: str, step: Step, copy: Path) -> str:
    """Links to files outside the step folder, rewritten relative to the copy's folder."""
    folder = ROOT / step.folder

    def rewrite(match: re.Match[str]) -> str:
        target = match["target"]
        if re.match(r"^[a-z][a-z0-9+.-]*:|^#|^/", target):  # a URL, an anchor, an absolute path
            return match.group(0)
        path, _, anchor = target.partition("#")
        aimed = (folder / path).resolve()
        if aimed.is_relative_to(folder.resolve()):
            return match.group(0)  # copied along with the step
        moved = os.path.relpath(aimed, copy.resolve()).replace(os.sep, "/")
        moved += "/" if path.endswith("/") else ""
        return f"{match['head']}{moved}{'#' + anchor if anchor else ''}{match['tail']}"

    return LINK.sub(rewrite, source)
