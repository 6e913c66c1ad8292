"""README code listings that quote real files, so a test can keep them identical.

In a README, a marker line directly above a fenced block names the file and what it quotes:

    <!-- listing: 01-Login/app.py#callback -->
    ```python
    ...exactly the function `callback` of 01-Login/app.py...
    ```

In a Python file the name is a top-level function or class, found with `ast`: the lesson files
carry no markers. In a template, it is the lines between `{# region: x #}` and `{# endregion: x #}`
(`<!-- region: x -->` works too); marker lines of regions nested inside are left out, and an
indented region is quoted dedented.

A listing may leave lines out where a line of its own is `...` (indented, maybe with a `# comment`
saying what is skipped): the lines around each `...` must still be the source's, in order, the first
one being the source's first line, and without a `...` at the end, its last.
"""

from __future__ import annotations

import ast
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

MARKER = re.compile(r"^<!--\s*listing:\s*(?P<path>[^#\s]+)#(?P<region>[\w-]+)\s*-->\s*$")
FENCE = re.compile(r"^(?P<fence>```+|~~~+)")
ELISION = re.compile(r"^\s*\.\.\.(\s*#.*)?$")
REGION_LINE = re.compile(r"^\s*(?:#|\{#|<!--)\s*(?P<kind>region|endregion):\s*(?P<name>[\w-]+)\s*(?:#\}|-->)?\s*$")


class ListingError(Exception):
    """A listing that cannot be checked: no fence after the marker, a missing file or region."""


@dataclass(frozen=True)
class Listing:
    readme: Path
    line: int  # 1-based line of the marker in the README
    path: str  # the quoted file, relative to the repository root
    region: str
    text: str  # the fenced block's content

    def where(self, root: Path) -> str:
        readme = self.readme.relative_to(root) if self.readme.is_relative_to(root) else self.readme
        return f"{readme}:{self.line} ({self.path}#{self.region})"


def find_listings(readme: Path) -> list[Listing]:
    """Every marked listing in one README; raise ListingError for a marker with no block below it."""
    lines = readme.read_text(encoding="utf-8").splitlines()
    listings = []
    for index, line in enumerate(lines):
        marker = MARKER.match(line)
        if not marker:
            if "listing:" in line and line.lstrip().startswith("<!--"):
                raise ListingError(
                    f"{readme}:{index + 1}: malformed listing marker {line.strip()!r}; "
                    "write <!-- listing: path/to/file.py#region -->"
                )
            continue
        opening = FENCE.match(lines[index + 1]) if index + 1 < len(lines) else None
        if not opening:
            raise ListingError(
                f"{readme}:{index + 1}: listing marker for {marker['path']}#{marker['region']} "
                "must be directly followed by a fenced code block (``` on the next line)"
            )
        fence = opening["fence"]
        for end in range(index + 2, len(lines)):
            if lines[end].strip() == fence:
                break
        else:
            raise ListingError(
                f"{readme}:{index + 2}: the code block of {marker['path']}#{marker['region']} "
                f"is never closed with {fence}"
            )
        text = "\n".join(lines[index + 2 : end])
        listings.append(Listing(readme, index + 1, marker["path"], marker["region"], text))
    return listings


def region_text(root: Path, path: str, region: str) -> str:
    """The lines between `region: NAME` and `endregion: NAME` in root/path, without nested marker lines."""
    source = root / path
    if not source.is_file():
        raise ListingError(f"the quoted file {path} does not exist (relative to the repository root)")
    inside, found, kept = False, False, []
    for line in source.read_text(encoding="utf-8").splitlines():
        marker = REGION_LINE.match(line)
        if marker and marker["name"] == region:
            if marker["kind"] == "region":
                if found:
                    raise ListingError(f"{path} marks region {region!r} twice")
                inside, found = True, True
            elif inside:
                inside = False
            continue
        if inside and not marker:
            kept.append(line)
    if not found:
        raise ListingError(
            f"{path} has no region {region!r}: add '# region: {region}' and "
            f"'# endregion: {region}' around the quoted lines"
        )
    if inside:
        raise ListingError(f"{path}: region {region!r} is never closed with '# endregion: {region}'")
    # ruff format puts blank lines between a function and the `# endregion` comment after it: not part of the listing.
    return textwrap.dedent("\n".join(kept)).strip("\n")


def function_source(root: Path, path: str, name: str) -> str:
    """The source of the top-level function or class `name` in root/path, found with `ast`: no markers needed."""
    source_path = root / path
    if not source_path.is_file():
        raise ListingError(f"the quoted file {path} does not exist (relative to the repository root)")
    source = source_path.read_text(encoding="utf-8")
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and node.name == name:
            first = min([node.lineno, *(decorator.lineno for decorator in node.decorator_list)])
            assert node.end_lineno is not None
            return "\n".join(source.splitlines()[first - 1 : node.end_lineno])
    raise ListingError(f"{path} has no top-level function or class named {name!r}")


def listing_source(root: Path, path: str, name: str) -> str:
    """What a listing of root/path#name must show: a Python file's function or class, else a region."""
    if path.endswith(".py"):
        return function_source(root, path, name)
    return region_text(root, path, name)


def is_elided(text: str) -> bool:
    return any(ELISION.match(line) for line in text.splitlines())


def elision_problem(source: str, text: str) -> str | None:
    """Why `text`, with `...` lines, is not `source` with lines left out; None when it is."""
    have = source.splitlines()
    runs: list[list[str]] = [[]]
    for line in text.splitlines():
        if ELISION.match(line):
            runs.append([])
        else:
            runs[-1].append(line)
    if not runs[0] or runs[0][0] != have[0]:
        return f"an elided listing starts with the source's first line, {have[0]!r}"
    position = 0
    for index, run in enumerate(runs):
        if not run:
            continue
        found = next(
            (start for start in range(position, len(have) - len(run) + 1) if have[start : start + len(run)] == run),
            None,
        )
        if found is None or (index == 0 and found != 0):
            return f"these lines are not the source's, in order after what comes before them: {run!r}"
        position = found + len(run)
    if runs[-1] and position != len(have):
        return "an elided listing ends with the source's last line, or with a line '...'"
    return None


def recopy(readme: Path, root: Path) -> int:
    """Rewrite every marked listing in `readme` from its source; return how many changed.

    A listing that leaves lines out (`...`) is left as it is: which lines to keep is the writer's
    choice, so when its source changed, the test names it and it is edited by hand.
    """
    lines = readme.read_text(encoding="utf-8").splitlines()
    changed = 0
    # From the last listing up, so the line numbers of those above stay right.
    for listing in reversed(find_listings(readme)):
        if is_elided(listing.text):
            continue
        start = listing.line + 1  # the opening fence's index is listing.line; the text starts after it
        end = start + (len(listing.text.splitlines()) if listing.text else 0)
        fresh = listing_source(root, listing.path, listing.region).splitlines()
        if lines[start:end] != fresh:
            lines[start:end] = fresh
            changed += 1
    readme.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return changed


if __name__ == "__main__":
    # `uv run python -m tests.support.listings README.md …`: re-copy the quoted code after an edit.
    import sys

    repository = Path(__file__).resolve().parents[2]
    for name in sys.argv[1:]:
        count = recopy(Path(name).resolve(), repository)
        print(f"{name}: {count} listing(s) re-copied")
        for listing in find_listings(Path(name).resolve()):
            source = listing_source(repository, listing.path, listing.region)
            if is_elided(listing.text) and (problem := elision_problem(source, listing.text)):
                print(f"  {listing.where(repository)} leaves lines out, but {problem}: edit it by hand")
