"""The room's board in a real browser: axe-clean, updating by itself under its own CSP, readable
with JavaScript off, each ✗'s message a click away; and the screenshot in docs/screenshots/."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.axe import assert_no_violations
from tests.support.board import RunningBoard, report, running_board
from tests.support.screenshots import save_screenshot

pytestmark = pytest.mark.browser

ROOM_ADDRESS = "http://192.168.1.20:8800"  # what the page tells the room; the test board is on loopback

PARTICIPANTS = [
    ("Ada", {"login": True, "callback": True, "logout": True}),
    ("Bo", {}),
    ("Cy", {"login": True}),
    ("Dee", {"login": True, "callback": True}),
    ("Eli", {"login": True, "logout": True}),
]


@pytest.fixture
def board(tmp_path) -> Iterator[RunningBoard]:
    with running_board(tmp_path / "board", address=ROOM_ADDRESS) as running:
        for name, done in PARTICIPANTS:
            body = report(running.room, name, done=done)
            for outcome in body["result"]["outcomes"]:
                if outcome["move"] == "callback" and not outcome["done"] and name == "Cy":
                    outcome["message"] = "a value planted in the signed cookie before the login survives it"
            assert running.post(body).status_code == 201
        yield running


@pytest.fixture
def axe_page(browser) -> Iterator[Any]:
    context = browser.new_context(bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def test_the_board_has_no_axe_violations_with_a_message_open(axe_page, board):
    axe_page.goto(f"{board.url}/")
    axe_page.locator("td.failed summary").first.click()
    assert_no_violations(axe_page, "the room's board")


def test_the_board_with_a_two_file_step_and_none_reported_yet_has_no_axe_violations(axe_page, tmp_path):
    """Step 03's columns sit under its two entry files; an empty board says how to start."""
    with running_board(tmp_path / "empty") as empty:
        axe_page.goto(f"{empty.url}/")
        assert axe_page.locator("#empty").is_visible()
        assert_no_violations(axe_page, "the room's board, empty")
    with running_board(tmp_path / "board") as board:
        board.post(report(board.room, "Ada", step="03-Session-Handling", done={"check_session": True}))
        board.post(report(board.room, "Bo", step="01-Login"))
        axe_page.goto(f"{board.url}/")
        assert axe_page.locator("th[scope=colgroup]").all_inner_texts() == ["cookie_app.py", "wrapper_app.py"]
        assert_no_violations(axe_page, "the room's board, two steps")


def test_the_board_updates_by_itself_and_keeps_an_open_message_open(page, board):
    """Under the board's own CSP: its script comes from 'self', so it runs."""
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.goto(f"{board.url}/")
    cy = page.locator("tr", has=page.locator("th", has_text="Cy"))
    cy.locator("td.failed summary").first.click()
    assert cy.locator("details[open] p").first.inner_text() == (
        "a value planted in the signed cookie before the login survives it"
    )
    assert board.post(report(board.room, "Fay", done={"login": True})).status_code == 201
    page.locator("th", has_text="Fay").wait_for()
    assert page.locator("tr", has=page.locator("th", has_text="Cy")).locator("details[open]").count() == 1
    assert page.locator("#updated").inner_text().startswith("6 participants · last report at ")
    assert not errors, errors


def test_without_javascript_the_board_reads_the_same_and_a_reload_shows_new_reports(browser, board):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{board.url}/")
    names = page.locator("tbody th").all_inner_texts()
    assert names == ["Bo", "Cy", "Dee", "Eli", "Ada"]  # the most ✗ first
    page.locator("td.failed summary").first.click()  # <details> opens without a script
    assert page.locator("details[open] p").first.is_visible()
    board.post(report(board.room, "Fay"))
    page.reload()
    assert "Fay" in page.locator("tbody th").all_inner_texts()
    context.close()


def test_the_boards_screenshot(page, board):
    page.goto(f"{board.url}/")
    page.locator("tr", has=page.locator("th", has_text="Cy")).locator("td.failed summary").first.click()
    save_screenshot(page, "exercise-board")
