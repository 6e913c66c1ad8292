"""The screenshot helper writes a missing file, leaves an existing one alone, and rewrites it on request."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.screenshots import MAX_BYTES, SCREENSHOTS, save_screenshot


class FakePage:
    """Records what the helper asks of a Playwright page; 'screenshots' are a few bytes."""

    def __init__(self, size: int = 10) -> None:
        self.size, self.viewport, self.shots = size, None, 0

    def set_viewport_size(self, viewport: dict) -> None:
        self.viewport = viewport

    def evaluate(self, script: str, argument) -> None:
        self.rewritten = argument

    def screenshot(self, path: str, type: str) -> None:
        self.shots += 1
        Path(path).write_bytes(b"x" * self.size)


def test_missing_screenshot_is_written_at_the_docs_size(tmp_path, monkeypatch):
    monkeypatch.delenv("UPDATE_SCREENSHOTS", raising=False)
    page = FakePage()
    path = save_screenshot(page, "09-example", {51234: 3000}, directory=tmp_path)
    assert path == tmp_path / "09-example.png" and path.exists()
    assert page.viewport == {"width": 900, "height": 600}
    assert page.rewritten == {"51234": "3000"}


def test_existing_screenshot_is_left_alone_unless_update_is_asked(tmp_path, monkeypatch):
    monkeypatch.delenv("UPDATE_SCREENSHOTS", raising=False)
    page = FakePage()
    save_screenshot(page, "09-example", directory=tmp_path)
    assert save_screenshot(page, "09-example", directory=tmp_path) is None
    monkeypatch.setenv("UPDATE_SCREENSHOTS", "1")
    assert save_screenshot(page, "09-example", directory=tmp_path) is not None
    assert page.shots == 2


def test_oversized_screenshot_fails(tmp_path, monkeypatch):
    monkeypatch.delenv("UPDATE_SCREENSHOTS", raising=False)
    with pytest.raises(AssertionError, match="keep screenshots under"):
        save_screenshot(FakePage(size=MAX_BYTES + 1), "09-example", directory=tmp_path)


def test_committed_screenshots_are_small_pngs():
    shots = sorted(SCREENSHOTS.glob("*.png"))
    assert shots, "docs/screenshots/ is empty; run the browser tests"
    for shot in shots:
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", shot.name
        assert shot.stat().st_size < MAX_BYTES, shot.name


def test_every_image_a_readme_shows_exists():
    root = SCREENSHOTS.parents[1]
    readmes = [root / "README.md", *root.glob("*/README.md")]
    missing = [
        f"{readme.relative_to(root)}: {target}"
        for readme in readmes
        for target in re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)", readme.read_text(encoding="utf-8"))
        if "://" not in target and not (readme.parent / target).resolve().is_file()
    ]
    assert not missing, "README images that do not exist (run the browser tests to make them):\n" + "\n".join(missing)
