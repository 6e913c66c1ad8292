"""Every code listing a README quotes is identical to the marked region of the file it names."""

from __future__ import annotations

import difflib
import re
from pathlib import Path

import pytest

from tests.support.listings import (
    ListingError,
    elision_problem,
    find_listings,
    function_source,
    is_elided,
    listing_source,
)

ROOT = Path(__file__).resolve().parents[2]
# The root README, each step's README and its other pages (step 03's GOING-FURTHER.md).
READMES = sorted(
    [
        ROOT / "README.md",
        *(path for path in ROOT.glob("*/README.md") if not path.parent.name.startswith(".")),
        *(path for path in ROOT.glob("0*-*/*.md") if path.name != "README.md"),
    ]
)


def listing_problems(root: Path, readme: Path) -> list[str]:
    """What is wrong with the listings of one README, one message each; empty when all match."""
    try:
        listings = find_listings(readme)
    except ListingError as error:
        return [str(error)]
    problems = []
    for listing in listings:
        try:
            source = listing_source(root, listing.path, listing.region)
        except ListingError as error:
            problems.append(f"{listing.where(root)}: {error}")
            continue
        if is_elided(listing.text):
            if problem := elision_problem(source, listing.text):
                problems.append(f"{listing.where(root)} leaves lines out, but {problem}; edit it by hand")
            continue
        if listing.text != source:
            diff = "\n".join(
                difflib.unified_diff(
                    source.splitlines(),
                    listing.text.splitlines(),
                    f"{listing.path}#{listing.region}",
                    listing.where(root),
                    lineterm="",
                )
            )
            problems.append(f"{listing.where(root)} differs from the source; copy it into the README:\n{diff}")
    return problems


@pytest.mark.parametrize("readme", READMES, ids=[str(path.relative_to(ROOT)) for path in READMES])
def test_readme_listings_match_their_source(readme):
    problems = listing_problems(ROOT, readme)
    assert not problems, "\n\n".join(problems)


@pytest.mark.parametrize("step", ["01-Login", "02-Custom-Login", "03-Session-Handling"])
def test_step_readmes_quote_their_code(step):
    assert find_listings(ROOT / step / "README.md"), f"{step}/README.md quotes no marked listing"


def test_step_03_quotes_each_move_from_its_own_folder():
    """The README quotes the seed's three moves; its Going further page the back-channel logout."""
    folder = ROOT / "03-Session-Handling"
    listings = find_listings(folder / "README.md")
    quoted = {(listing.path, listing.region) for listing in listings}
    for move in ("callback", "check_session", "logout"):
        assert ("03-Session-Handling/cookie_app.py", move) in quoted, f"cookie_app.py#{move} is not quoted"
    further = find_listings(folder / "GOING-FURTHER.md")
    assert ("03-Session-Handling/cookie_app.py", "backchannel_logout") in {(x.path, x.region) for x in further}
    # The lesson lives in the step's folder: besides the verifier in shared/, only the test that proves
    # the replay is quoted from elsewhere.
    outside = {x.path for x in [*listings, *further] if not x.path.startswith("03-Session-Handling/")}
    assert outside <= {"shared/tenant.py", "tests/steps/test_03_sessions_that_end.py"}, outside


@pytest.mark.parametrize("path", sorted(str(p.relative_to(ROOT)) for p in ROOT.glob("0*-*/*.py")))
def test_lesson_files_carry_no_region_markers(path):
    """Listings of Python files are found by function name, so the lesson reads without markers."""
    text = (ROOT / path).read_text(encoding="utf-8")
    assert "# region:" not in text and "# endregion:" not in text, path


# The checker itself: each way a listing can go wrong is reported, with where and what to do.

SOURCE = """\
import os

# region: outer
def handler():
    # region: inner
    return os.getcwd()
    # endregion: inner
# endregion: outer
"""


def write(tmp_path: Path, readme: str) -> Path:
    (tmp_path / "app.txt").write_text(SOURCE)
    path = tmp_path / "README.md"
    path.write_text(readme)
    return path


def test_a_python_listing_is_the_function_it_names(tmp_path):
    (tmp_path / "step.py").write_text("import os\n\n\ndef handler():\n    return os.getcwd()\n")
    readme = tmp_path / "README.md"
    readme.write_text("<!-- listing: step.py#handler -->\n```python\ndef handler():\n    return os.getcwd()\n```\n")
    assert listing_problems(tmp_path, readme) == []
    readme.write_text("<!-- listing: step.py#gone -->\n```python\n```\n")
    [problem] = listing_problems(tmp_path, readme)
    assert "step.py has no top-level function or class named 'gone'" in problem


def test_matching_listing_passes_and_nested_markers_are_left_out(tmp_path):
    readme = write(
        tmp_path, "<!-- listing: app.txt#outer -->\n```python\ndef handler():\n    return os.getcwd()\n```\n"
    )
    assert listing_problems(tmp_path, readme) == []


def test_indented_region_is_quoted_dedented(tmp_path):
    readme = write(tmp_path, "<!-- listing: app.txt#inner -->\n```python\nreturn os.getcwd()\n```\n")
    assert listing_problems(tmp_path, readme) == []


def test_drifted_listing_fails_with_a_diff(tmp_path):
    readme = write(tmp_path, "<!-- listing: app.txt#inner -->\n```python\nreturn os.getenv('HOME')\n```\n")
    [problem] = listing_problems(tmp_path, readme)
    assert "README.md:1 (app.txt#inner) differs" in problem
    assert "-return os.getcwd()" in problem and "+return os.getenv('HOME')" in problem


def test_missing_file_is_named(tmp_path):
    readme = write(tmp_path, "<!-- listing: gone.py#outer -->\n```python\n```\n")
    [problem] = listing_problems(tmp_path, readme)
    assert "gone.py does not exist" in problem


def test_missing_region_is_named(tmp_path):
    readme = write(tmp_path, "<!-- listing: app.txt#nowhere -->\n```python\n```\n")
    [problem] = listing_problems(tmp_path, readme)
    assert "app.txt has no region 'nowhere'" in problem


def test_marker_without_a_fence_below_fails(tmp_path):
    readme = write(tmp_path, "<!-- listing: app.txt#outer -->\n\n```python\ndef handler():\n```\n")
    [problem] = listing_problems(tmp_path, readme)
    assert "must be directly followed by a fenced code block" in problem


def test_unclosed_block_and_malformed_marker_fail(tmp_path):
    unclosed = write(tmp_path, "<!-- listing: app.txt#outer -->\n```python\ndef handler():\n")
    assert "never closed" in listing_problems(tmp_path, unclosed)[0]
    malformed = write(tmp_path, "<!-- listing: app.txt outer -->\n```python\n```\n")
    assert "malformed listing marker" in listing_problems(tmp_path, malformed)[0]


def test_template_regions_use_template_comments(tmp_path):
    (tmp_path / "page.html").write_text("{# region: body #}\n<p>hi</p>\n{# endregion: body #}\n")
    readme = tmp_path / "README.md"
    readme.write_text("<!-- listing: page.html#body -->\n```html\n<p>hi</p>\n```\n")
    assert listing_problems(tmp_path, readme) == []


ELIDED_SOURCE = "def handler():\n    first()\n    second()\n    third()\n    return last()\n"


@pytest.mark.parametrize(
    "listing",
    [
        "def handler():\n    ...  # the first two\n    third()\n    return last()",
        "def handler():\n    first()\n    ...\n    return last()",
        "def handler():\n    first()\n    ...",
        "def handler():\n    ...\n    second()\n    ...",
    ],
)
def test_a_listing_may_leave_lines_out(tmp_path, listing):
    (tmp_path / "step.py").write_text(ELIDED_SOURCE)
    readme = tmp_path / "README.md"
    readme.write_text(f"<!-- listing: step.py#handler -->\n```python\n{listing}\n```\n")
    assert listing_problems(tmp_path, readme) == []


@pytest.mark.parametrize(
    ("listing", "message"),
    [
        ("def handler():\n    ...\n    thrid()\n    return last()", "not the source's, in order"),
        ("def handler():\n    ...\n    third()\n    second()\n    ...", "not the source's, in order"),
        ("def handler():\n    ...\n    third()\n    return last()\n    ...\n    second()", "in order"),
        ("    ...\n    third()\n    return last()", "starts with the source's first line"),
        ("def other():\n    ...\n    return last()", "starts with the source's first line"),
        ("def handler():\n    first()\n    ...\n    third()", "ends with the source's last line"),
    ],
)
def test_an_elided_listing_that_drifted_fails(tmp_path, listing, message):
    (tmp_path / "step.py").write_text(ELIDED_SOURCE)
    readme = tmp_path / "README.md"
    readme.write_text(f"<!-- listing: step.py#handler -->\n```python\n{listing}\n```\n")
    [problem] = listing_problems(tmp_path, readme)
    assert message in problem and "edit it by hand" in problem


def test_recopy_rewrites_whole_listings_and_leaves_elided_ones(tmp_path):
    from tests.support.listings import recopy

    (tmp_path / "step.py").write_text(ELIDED_SOURCE)
    readme = tmp_path / "README.md"
    elided = "def handler():\n    ...\n    return last()"
    readme.write_text(
        f"<!-- listing: step.py#handler -->\n```python\nold\n```\n\n"
        f"<!-- listing: step.py#handler -->\n```python\n{elided}\n```\n"
    )
    assert recopy(readme, tmp_path) == 1
    assert listing_problems(tmp_path, readme) == []
    assert elided in readme.read_text()


# Step 03's wrapper table puts the three calls side by side; each cell must still be what its file does.

STORAGE_ROW = re.compile(r"^\| `(?P<function>\w+)`[^|]*\|(?P<plain>[^|]*)\|(?P<wrapper>[^|]*)\|$", re.M)


def written_as(code: str, source: str) -> bool:
    """Whether `code`, with `…` for what it leaves out, is in `source` (whitespace and comments aside)."""
    squeezed = re.sub(r"\s+", "", re.sub(r"#.*", "", source))
    position = 0
    for piece in re.sub(r"\s+", "", code).split("…"):
        found = squeezed.find(piece, position)
        if found < 0:
            return False
        position = found + len(piece)
    return True


def storage_table_problems(readme: str, root: Path) -> list[str]:
    rows = {row["function"]: row for row in STORAGE_ROW.finditer(readme)}
    problems = [f"no row for {name}" for name in STORAGE_CALLS if name not in rows]
    for name, row in rows.items():
        for column, path in (
            ("plain", "03-Session-Handling/cookie_app.py"),
            ("wrapper", "03-Session-Handling/wrapper_app.py"),
        ):
            source = function_source(root, path, name)
            for code in re.findall(r"`([^`]+)`", row[column]):
                if not written_as(code, source):
                    problems.append(f"{path}#{name} does not do `{code}`: copy the call into the table")
    return problems


STORAGE_CALLS = ("store_id_token", "read_id_token", "erase_id_token")


def test_step_03_wrapper_table_shows_each_variants_call():
    readme = (ROOT / "03-Session-Handling" / "README.md").read_text(encoding="utf-8")
    problems = storage_table_problems(readme, ROOT)
    assert not problems, "\n".join(problems)


def test_a_storage_call_that_drifted_fails():
    readme = (ROOT / "03-Session-Handling" / "README.md").read_text(encoding="utf-8")
    assert storage_table_problems(readme, ROOT) == []
    drifted = readme.replace('request.session.pop("id_token", None)', 'request.session.pop("token", None)')
    [problem] = storage_table_problems(drifted, ROOT)
    assert "wrapper_app.py#erase_id_token" in problem
    drifted = readme.replace('samesite="lax"', 'samesite="strict"', 1)
    [problem] = storage_table_problems(drifted, ROOT)
    assert "cookie_app.py#store_id_token" in problem
    assert storage_table_problems(readme.replace("| `read_id_token`", "| read_id_token"), ROOT) == [
        "no row for read_id_token"
    ]
