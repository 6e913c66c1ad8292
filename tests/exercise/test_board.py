"""The room's board (#29): participants' `grade` reports to the teacher's board, which shows each
participant's moves ✓ / ✗ / not tried; hostile or careless reports change nothing."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import re
import signal
import socket
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from shared.exercise import ROOT, STEPS
from shared.exercise import board_report as board_report_module
from shared.exercise.__main__ import run
from shared.exercise.board import ROOM_ALPHABET, BoardState, columns
from shared.exercise.board_app import create_board_app
from shared.exercise.board_report import TOKEN_FILE, Destination, default_name, destination
from tests.support.board import BoardPage, report, running_board
from tests.support.servers import free_port

NO_BOARD_ENV = {name: value for name, value in os.environ.items() if not name.startswith("EXERCISE_")}


def command(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    code = run(list(args), out=out)
    return code, out.getvalue()


def grade_to(board, into: Path, name: str, capsys) -> tuple[int, str, str]:
    """The real `grade` of the copy in `into`, reporting to `board` as `name`."""
    capsys.readouterr()
    code, out = command(
        "grade", "01-Login", "--into", str(into), "--board", board.url, "--room", board.room, "--name", name
    )
    return code, out, capsys.readouterr().err


# ---- three participants -------------------------------------------------------------------------


def test_three_participants_grading_their_copies_show_exactly_their_states(tmp_path, capsys):
    blank, half, finished = tmp_path / "blank", tmp_path / "half", tmp_path / "finished"
    for into in (blank, half, finished):
        assert command("start", "01-Login", "--into", str(into))[0] == 0
    command("reset", "01-Login", "--into", str(half), "--move", "login", "--solved")
    command("reset", "01-Login", "--into", str(finished), "--solved")
    with running_board(tmp_path / "board") as board:
        for into, name in ((finished, "Ada"), (blank, "Bo"), (half, "Cy")):
            _, _, err = grade_to(board, into, name, capsys)
            assert err == f"Reported to the board at {board.url} as {name}.\n", err
        seen = BoardPage.read(board.page())
    rows = seen.steps["01-Login"]
    # The stuck first: Bo (3 ✗), then Cy (2 ✗, 1 ✓), then Ada (all ✓).
    assert [row.name for row in rows] == ["Bo", "Cy", "Ada"]
    assert rows[0].cells == ["not done", "not done", "not done"]
    assert rows[1].cells == ["done", "not done", "not done"]
    assert rows[2].cells == ["done", "done", "done"]
    assert all("not written yet: write the body of" in message for message in rows[0].messages)
    assert seen.counts["01-Login"] == ["2 of 3 done", "1 of 3 done", "1 of 3 done"]


def test_a_later_grade_sends_the_rows_token_and_updates_the_same_row(tmp_path, capsys):
    command("start", "01-Login", "--into", str(tmp_path / "copy"))
    with running_board(tmp_path / "board") as board:
        grade_to(board, tmp_path / "copy", "Bo", capsys)
        token_file = tmp_path / "copy" / TOKEN_FILE
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        assert json.loads(token_file.read_text())["room"] == board.room
        command("reset", "01-Login", "--into", str(tmp_path / "copy"), "--solved")
        code, _, err = grade_to(board, tmp_path / "copy", "Bo", capsys)
        rows = BoardPage.read(board.page()).steps["01-Login"]
    assert code == 0 and "Reported to the board" in err
    assert [(row.name, row.cells) for row in rows] == [("Bo", ["done", "done", "done"])]


def test_the_report_is_the_json_result_without_the_copys_path_or_any_code(tmp_path, capsys, monkeypatch):
    sent: list[bytes] = []
    real = board_report_module.urllib.request.OpenerDirector.open

    def keep(self, request, *args, **kwargs):
        sent.append(request.data)
        return real(self, request, *args, **kwargs)

    monkeypatch.setattr(board_report_module.urllib.request.OpenerDirector, "open", keep)
    command("start", "01-Login", "--into", str(tmp_path / "copy"))
    with running_board(tmp_path / "board") as board:
        grade_to(board, tmp_path / "copy", "Bo", capsys)
    body = json.loads(sent[0])
    _, printed = command("grade", "01-Login", "--into", str(tmp_path / "copy"), "--json")
    expected = json.loads(printed)
    del expected["copy"], expected["seconds"]
    del body["result"]["seconds"]
    assert body == {"room": board.room, "name": "Bo", "result": expected}
    source = (tmp_path / "copy" / "01-Login" / "app.py").read_text()
    assert "copy" not in body["result"]  # the grader's messages name a file and line, as --json does
    assert "def login" in source and b"def login" not in sent[0]


def test_the_environment_gives_board_room_and_name(tmp_path, capsys, monkeypatch):
    command("start", "01-Login", "--into", str(tmp_path / "copy"))
    with running_board(tmp_path / "board") as board:
        monkeypatch.setenv("EXERCISE_BOARD", board.url.removeprefix("http://"))  # as written on a whiteboard
        monkeypatch.setenv("EXERCISE_ROOM", board.room.lower())
        monkeypatch.setenv("EXERCISE_NAME", "Dee")
        capsys.readouterr()
        command("grade", "01-Login", "--into", str(tmp_path / "copy"))
        assert capsys.readouterr().err == f"Reported to the board at {board.url} as Dee.\n"
        assert [row.name for row in BoardPage.read(board.page()).steps["01-Login"]] == ["Dee"]


# ---- grade without a board is unchanged ----------------------------------------------------------


def exercise(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "shared.exercise", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env or NO_BOARD_ENV,
    )


def test_grade_without_a_board_prints_what_it_did_and_one_line_when_the_board_is_away(tmp_path):
    command("start", "01-Login", "--into", str(tmp_path))
    alone = exercise("grade", "01-Login", "--into", str(tmp_path))
    closed = free_port()  # nobody listens there
    away = exercise(
        "grade", "01-Login", "--into", str(tmp_path), "--board", f"http://127.0.0.1:{closed}", "--room", "ACDEFG"
    )
    as_json = exercise("grade", "01-Login", "--into", str(tmp_path), "--json", "--board", f"127.0.0.1:{closed}")
    assert alone.returncode == away.returncode == as_json.returncode == 1
    assert alone.stderr == ""
    assert away.stdout == alone.stdout and "0 of 3 moves done" in alone.stdout
    assert away.stderr == (
        f"The report to the board at http://127.0.0.1:{closed} did not go through (no answer); your ✓/✗ above stands.\n"
    )
    assert json.loads(as_json.stdout)["done"] == 0  # stdout stays the JSON alone
    assert as_json.stderr.count("\n") == 1 and "no room code" in as_json.stderr
    assert not (tmp_path / TOKEN_FILE).exists()


def test_a_board_that_never_answers_is_given_up_after_the_timeout(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(board_report_module, "TIMEOUT", 0.5)
    command("start", "01-Login", "--into", str(tmp_path))
    with socket.socket() as silent:  # accepts connections into its backlog, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        capsys.readouterr()
        code, out = command("grade", "01-Login", "--into", str(tmp_path), "--board", url, "--room", "ACDEFG")
    assert code == 1 and "0 of 3 moves done" in out
    assert (
        capsys.readouterr().err
        == f"The report to the board at {url} did not go through (no answer); your ✓/✗ above stands.\n"
    )


def test_a_refused_report_says_the_boards_reason_in_one_line(tmp_path, capsys):
    command("start", "01-Login", "--into", str(tmp_path))
    with running_board(tmp_path / "board") as board:
        capsys.readouterr()
        code, _ = command("grade", "01-Login", "--into", str(tmp_path), "--board", board.url, "--room", "WRONG1")
    assert code == 1
    assert capsys.readouterr().err == (
        "The report to the board did not go through: wrong room code: use the one the teacher's board shows (403)\n"
    )


# ---- hostile or careless reports ---------------------------------------------------------------


def unchanged(board, before: bytes) -> None:
    assert board.state.path.read_bytes() == before
    assert BoardState(board.state.path.parent).version == board.state.version


BAD_REPORTS = {
    "no room code": (lambda room: {**report(room, "Eve"), "room": ""}, 401, "no room code"),
    "no room field": (lambda room: {k: v for k, v in report(room, "Eve").items() if k != "room"}, 401, "no room code"),
    "wrong room code": (lambda room: report("ACDEFX" if room != "ACDEFX" else "ACDEFY", "Eve"), 403, "wrong room code"),
    "a room code beyond ASCII": (lambda room: report("ÄÖÜ123", "Eve"), 403, "wrong room code"),
    "not JSON": (lambda room: b"{not json", 400, "not JSON"),
    "not UTF-8": (lambda room: b'{"room": "\xff"}', 400, "not JSON"),
    "not an object": (lambda room: b"[1, 2]", 400, "not a JSON object"),
    "no result": (lambda room: {"room": room, "name": "Eve"}, 400, "has no result"),
    "unknown step": (
        lambda room: {**report(room, "Eve"), "result": {**report(room, "Eve")["result"], "step": "04-Nowhere"}},
        400,
        "step is none of",
    ),
    "unknown move": (
        lambda room: {
            **report(room, "Eve"),
            "result": {"step": "01-Login", "outcomes": [{"file": "app.py", "move": "steal", "done": True}]},
        },
        400,
        "different versions of the repository",
    ),
    "done is not a boolean": (
        lambda room: {
            **report(room, "Eve"),
            "result": {"step": "01-Login", "outcomes": [{"file": "app.py", "move": "login", "done": "yes"}]},
        },
        400,
        "each outcome is",
    ),
    "no name": (lambda room: {**report(room, "Eve"), "name": None}, 400, "has no name"),
    "a name too long": (lambda room: report(room, "E" * 41), 400, "1 to 40 characters"),
    "a name with control characters": (lambda room: report(room, "Eve\x1b[2J"), 400, "plain text"),
    "an unknown token": (lambda room: report(room, "Eve", token="made-up"), 403, "no row on this board"),
}


@pytest.mark.parametrize("name", BAD_REPORTS)
def test_a_bad_report_is_a_clear_4xx_json_and_changes_nothing(name, tmp_path):
    make, status, words = BAD_REPORTS[name]
    with running_board(tmp_path / "board") as board:
        assert board.post(report(board.room, "Ada")).status_code == 201
        before = board.state.path.read_bytes()
        answer = board.post(make(board.room))
        assert answer.status_code == status, answer.text
        assert words in answer.json()["error"]
        unchanged(board, before)
        assert [row.name for row in BoardPage.read(board.page()).steps["01-Login"]] == ["Ada"]


def test_a_report_not_sent_as_json_is_a_415(tmp_path):
    with running_board(tmp_path / "board") as board:
        before = board.state.path.read_bytes()
        answer = board.post(json.dumps(report(board.room, "Eve")).encode(), **{"content-type": "text/plain"})
        assert answer.status_code == 415 and "application/json" in answer.json()["error"]
        unchanged(board, before)


def test_an_oversized_report_is_refused_before_it_is_read_whole(tmp_path):
    big = report("ROOMCD", "Eve")
    big["padding"] = "x" * (70 * 1024)
    with running_board(tmp_path / "board") as board:
        before = board.state.path.read_bytes()
        declared = board.post({**big, "room": board.room})
        assert declared.status_code == 413 and "larger than 64 KB" in declared.json()["error"]

        def chunks():  # no content-length: the board counts what arrives
            for _ in range(100):
                yield b"x" * 1024

        streamed = httpx2.post(
            f"{board.url}/report", content=chunks(), headers={"content-type": "application/json"}, trust_env=False
        )
        assert streamed.status_code == 413
        unchanged(board, before)


def test_a_report_declaring_a_huge_body_is_refused_without_waiting_for_it(tmp_path):
    """The answer comes from the headers alone: the board never waits for (or keeps) 100 MB."""
    with (
        running_board(tmp_path / "board") as board,
        socket.create_connection(("127.0.0.1", int(board.url.rsplit(":", 1)[1]))) as raw,
    ):
        raw.settimeout(10)
        raw.sendall(
            b"POST /report HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100000000\r\n\r\n{"
        )
        answer = ""
        while "}" not in answer:  # the JSON error's end; the board may send it in more than one piece
            piece = raw.recv(65536).decode()
            assert piece, answer
            answer += piece
    assert answer.startswith("HTTP/1.1 413"), answer
    assert "larger than 64 KB" in answer


def test_nobody_writes_another_participants_row_without_its_token(tmp_path):
    with running_board(tmp_path / "board") as board:
        ada = board.post(report(board.room, "Ada", done={"login": True}))
        bo = board.post(report(board.room, "Bo"))
        before = board.state.path.read_bytes()
        # A first report under Ada's name (no token, or a different case) is refused, not merged.
        for name in ("Ada", "ada"):
            taken = board.post(report(board.room, name, done={"login": False}))
            assert taken.status_code == 409 and "is taken" in taken.json()["error"]
        # Bo's token cannot rename Bo's row to Ada, nor write Ada's.
        renamed = board.post(report(board.room, "Ada", token=bo.json()["token"]))
        assert renamed.status_code == 409
        unchanged(board, before)
        assert (
            board.post(
                report(board.room, "Ada", done={"login": True, "callback": True}, token=ada.json()["token"])
            ).status_code
            == 200
        )
        rows = {row.name: row.cells for row in BoardPage.read(board.page()).steps["01-Login"]}
    assert rows == {"Ada": ["done", "done", "not done"], "Bo": ["not done", "not done", "not done"]}


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def test_reports_are_rate_limited_per_participant(tmp_path):
    clock = Clock()
    with running_board(tmp_path / "board", clock=clock, reports_per_row=2, window=60) as board:
        token = board.post(report(board.room, "Ada")).json()["token"]
        assert board.post(report(board.room, "Ada", token=token)).status_code == 200
        assert board.post(report(board.room, "Ada", token=token)).status_code == 200
        before = board.state.path.read_bytes()
        limited = board.post(report(board.room, "Ada", done={"login": True}, token=token))
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
        unchanged(board, before)
        assert board.post(report(board.room, "Bo")).status_code == 201  # another participant is not held up
        clock.now += 61
        assert board.post(report(board.room, "Ada", done={"login": True}, token=token)).status_code == 200


def test_first_reports_and_wrong_room_codes_are_rate_limited_per_address(tmp_path):
    clock = Clock()
    with running_board(tmp_path / "board", clock=clock, reports_per_address=3, window=600) as board:
        assert board.post(report(board.room, "Ada")).status_code == 201
        assert board.post(report("ACDEFX" if board.room != "ACDEFX" else "ACDEFY", "Bo")).status_code == 403
        assert board.post(report(board.room, "Cy")).status_code == 201
        guessing = board.post(report(board.room, "Dee"))  # the right code, but this laptop sent too many
        assert guessing.status_code == 429
        assert [row.name for row in board.state.rows] == ["Ada", "Cy"]
        clock.now += 601
        assert board.post(report(board.room, "Dee")).status_code == 201


def test_a_report_the_board_cannot_save_is_a_503_and_is_not_half_kept(tmp_path, monkeypatch):
    import shared.exercise.board as board_module  # where BoardState.save finds write_private

    with running_board(tmp_path / "board") as board:
        token = board.post(report(board.room, "Ada")).json()["token"]
        before = board.state.path.read_bytes()

        def disk_full(path: Path, text: str) -> None:
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(board_module, "write_private", disk_full)
        for body in (report(board.room, "Bo"), report(board.room, "Ada", done={"login": True}, token=token)):
            answer = board.post(body)
            assert answer.status_code == 503 and "No space left on device" in answer.json()["error"]
        unchanged(board, before)
        rows = {row.name: row.cells for row in BoardPage.read(board.page()).steps["01-Login"]}
    assert rows == {"Ada": ["not done", "not done", "not done"]}


def test_the_board_takes_at_most_its_cap_of_participants(tmp_path):
    with running_board(tmp_path / "board", participants=2) as board:
        assert board.post(report(board.room, "Ada")).status_code == 201
        assert board.post(report(board.room, "Bo")).status_code == 201
        full = board.post(report(board.room, "Cy"))
        assert full.status_code == 409 and "full (2 participants)" in full.json()["error"]


def test_names_and_messages_are_escaped_on_the_page(tmp_path):
    with running_board(tmp_path / "board") as board:
        hostile = report(board.room, "<script>alert(1)</script>")
        hostile["result"]["outcomes"][0]["message"] = '<script>alert("message")</script><img src=x onerror=alert(2)>'
        assert board.post(hostile).status_code == 201
        page = board.page()
    assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;script&gt;alert(&#34;message&#34;)&lt;/script&gt;" in page
    row = BoardPage.read(page).steps["01-Login"][0]
    assert row.name == "<script>alert(1)</script>" and row.messages[0].startswith('<script>alert("message")')


def test_the_page_has_a_strict_csp_and_no_inline_script_or_style(tmp_path):
    with running_board(tmp_path / "board") as board:
        board.post(report(board.room, "Ada"))
        answer = httpx2.get(f"{board.url}/", trust_env=False)
    csp = answer.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp and "style-src 'self'" in csp
    assert "unsafe" not in csp and "frame-ancestors 'none'" in csp
    assert answer.headers["cache-control"] == "no-store"
    assert "<script>" not in answer.text and "<style" not in answer.text and " style=" not in answer.text
    assert '<script src="/static/board.js" defer></script>' in answer.text


def test_board_json_says_the_same_as_the_page_and_no_token(tmp_path):
    with running_board(tmp_path / "board") as board:
        token = board.post(report(board.room, "Ada", done={"login": True})).json()["token"]
        board.post(report(board.room, "Bo"))
        answer = httpx2.get(f"{board.url}/board.json", trust_env=False)
    assert token not in answer.text and "token" not in answer.text
    (step,) = answer.json()["steps"]
    assert step["step"] == "01-Login"
    assert [(move["move"], move["done"], move["failed"]) for move in step["moves"]] == [
        ("login", 1, 1),
        ("callback", 0, 2),
        ("logout", 0, 2),
    ]
    assert [(row["name"], row["done"], row["failed"]) for row in step["participants"]] == [("Bo", 0, 3), ("Ada", 1, 2)]


def test_the_page_answers_the_teachers_laptop_only(tmp_path):
    """The room reports; the page and its JSON stay on the teacher's laptop (loopback, by a loopback name)."""
    state = BoardState(tmp_path / "board")
    app = create_board_app(state, address="http://192.168.1.20:8800", lan=True)

    async def ask(address: str, method: str, path: str, **options) -> int:
        transport = httpx2.ASGITransport(app, client=(address, 50000))
        async with httpx2.AsyncClient(transport=transport, base_url="http://192.168.1.20:8800") as client:
            return (await client.request(method, path, **options)).status_code

    def status(address: str, method: str, path: str, **options) -> int:
        return asyncio.run(ask(address, method, path, **options))

    participant = "192.168.1.31"
    assert status(participant, "GET", "/") == 403
    assert status(participant, "GET", "/board.json") == 403
    assert status(participant, "POST", "/report", json=report(state.room, "Ada")) == 201
    assert status("127.0.0.1", "GET", "/", headers={"host": "localhost:8800"}) == 200
    assert status("127.0.0.1", "GET", "/board.json", headers={"host": "127.0.0.1:8800"}) == 200
    # A site whose name resolves to 127.0.0.1 (DNS rebinding), in the teacher's browser.
    assert status("127.0.0.1", "GET", "/board.json", headers={"host": "attacker.example:8800"}) == 403


# ---- the board's state ------------------------------------------------------------------------


def test_the_state_survives_a_restart_in_a_private_file(tmp_path):
    with running_board(tmp_path / "board") as board:
        room = board.room
        token = board.post(report(room, "Ada", done={"login": True})).json()["token"]
        board.post(report(room, "Bo"))
    path = tmp_path / "board" / "board.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert token not in path.read_text()  # only its digest is kept
    with running_board(tmp_path / "board") as again:
        assert again.room == room
        rows = {row.name: row.cells for row in BoardPage.read(again.page()).steps["01-Login"]}
        assert again.post(report(room, "Ada", done={"login": True, "logout": True}, token=token)).status_code == 200
    assert rows == {"Ada": ["done", "not done", "not done"], "Bo": ["not done", "not done", "not done"]}


def test_a_damaged_state_file_stops_the_board_with_one_line_and_is_kept(tmp_path):
    folder = tmp_path / "board"
    folder.mkdir()
    (folder / "board.json").write_text("{half a file")
    answer = exercise("board", "--state", str(folder), "--port", str(free_port()))
    assert answer.returncode == 2 and answer.stderr.count("\n") == 1 and "--clear" in answer.stderr
    assert (folder / "board.json").read_text() == "{half a file"
    port = free_port()
    with teacher_runs_board("--clear", "--state", str(folder), "--port", str(port)) as (banner, _):
        pass
    assert "could not be read: kept as board.json.damaged" in banner
    assert (folder / "board.json.damaged").read_text() == "{half a file"
    assert BoardState(folder).rows == []


@contextlib.contextmanager
def teacher_runs_board(*args: str) -> Iterator[tuple[str, dict[str, str]]]:
    """`python -m shared.exercise board ARGS` as a teacher starts it; yields the banner, then presses
    Ctrl-C twice and fills the dict with what it printed after ("out") and on stderr ("err")."""
    teacher = subprocess.Popen(
        [sys.executable, "-m", "shared.exercise", "board", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=NO_BOARD_ENV,
    )
    after: dict[str, str] = {}
    try:
        assert teacher.stdout is not None
        lines: list[str] = []
        while not any("Press Ctrl-C" in line for line in lines):
            line = teacher.stdout.readline()
            assert line, teacher.stderr.read() if teacher.stderr else ""
            lines.append(line)
        yield "".join(lines), after
    finally:
        teacher.send_signal(signal.SIGINT)
        teacher.send_signal(signal.SIGINT)  # an impatient second Ctrl-C changes nothing
        after["out"], after["err"] = teacher.communicate(timeout=20)


def test_the_board_command_prints_the_room_code_and_clear_starts_the_next_group(tmp_path):
    folder = tmp_path / "board"
    old_room = BoardState(folder).room
    with running_board(folder) as board:
        board.post(report(board.room, "Ada"))
        board.post(report(board.room, "Bo"))
    port = free_port()
    with teacher_runs_board("--clear", "--state", str(folder), "--port", str(port)) as (banner, after):
        new_room = BoardState(folder).room
        page = httpx2.get(f"http://localhost:{port}/", trust_env=False, timeout=10)
    assert "Cleared: 2 participant rows forgotten" in banner
    assert new_room != old_room and f"Room code: {new_room}" in banner
    assert all(char in ROOM_ALPHABET for char in new_room) and len(new_room) == 6
    assert f"Open http://localhost:{port}/ on this laptop" in banner
    assert "Listening on this laptop only (127.0.0.1)" in banner and "--host 0.0.0.0" in banner
    assert page.status_code == 200 and "No reports yet" in page.text
    assert "The room's board stopped." in after["out"] and "Traceback" not in after["err"]


def test_the_board_on_the_rooms_network_says_the_address_participants_type(tmp_path):
    port = free_port()
    everywhere = "0.0.0.0"  # noqa: S104 (what a teacher passes for the room's network)
    with teacher_runs_board("--host", everywhere, "--port", str(port), "--state", str(tmp_path)) as (banner, _):
        room = BoardState(tmp_path).room
    assert f"Listening on every network of this laptop, port {port}" in banner
    assert f" EXERCISE_ROOM={room}" in banner and "export EXERCISE_BOARD=http://" in banner
    assert f"EXERCISE_BOARD=http://localhost:{port}" not in banner


def test_a_taken_port_is_one_line_and_exit_2(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        answer = exercise("board", "--port", str(taken.getsockname()[1]), "--state", str(tmp_path))
    assert answer.returncode == 2 and answer.stderr.count("\n") == 1 and "is taken" in answer.stderr


def test_board_help_names_its_options():
    answer = exercise("board", "--help")
    assert answer.returncode == 0
    for option in ("--host", "--port", "--state", "--clear", "--step"):
        assert option in answer.stdout
    graded = exercise("grade", "--help")
    for option in ("--board", "--room", "--name", "EXERCISE_BOARD", "EXERCISE_ROOM", "EXERCISE_NAME"):
        assert option in graded.stdout


def test_a_step_named_at_start_shows_before_any_report(tmp_path):
    state = BoardState(tmp_path)
    app = create_board_app(state, address="http://localhost:8800", shown_steps=["03-Session-Handling"])

    async def ask() -> str:
        transport = httpx2.ASGITransport(app)
        async with httpx2.AsyncClient(transport=transport, base_url="http://localhost:8800") as teacher:
            return (await teacher.get("/")).text

    page = asyncio.run(ask())
    seen = BoardPage.read(page)
    assert list(seen.steps) == ["03-Session-Handling"] and seen.steps["03-Session-Handling"] == []
    assert "cookie_app.py" in page and "wrapper_app.py" in page


def test_where_grade_reports_comes_from_the_options_then_the_environment():
    env = {"EXERCISE_BOARD": "192.168.1.20:8800/", "EXERCISE_ROOM": " 4D49CN ", "EXERCISE_NAME": "Ada"}
    assert destination(None, None, None, {}) is None  # no board: grade as before, not a word more
    assert destination(None, None, None, env) == Destination("http://192.168.1.20:8800", "4D49CN", "Ada")
    chosen = destination("http://10.0.0.5:9000", "ACDEFG", "Bo", env)
    assert chosen == Destination("http://10.0.0.5:9000", "ACDEFG", "Bo")
    unnamed = destination("http://10.0.0.5:9000", "ACDEFG", None, {})
    assert unnamed is not None and unnamed.name == default_name() and "@" in unnamed.name


def test_the_teachers_page_names_only_options_the_commands_have():
    page = (ROOT / "docs" / "teaching.md").read_text(encoding="utf-8")
    section = page.split("## The room's board", 1)[1].split("\n## ", 1)[0]
    helps = exercise("board", "--help").stdout + exercise("grade", "--help").stdout
    for option in set(re.findall(r"(?<![\w-])--[a-z][a-z-]+", section)):
        assert option in helps, f"docs/teaching.md's board section names {option}, which no command has"
    assert "shared.exercise board" in section and "exercises/.board-token" in section


def test_grading_one_file_of_step_03_updates_its_columns_and_keeps_the_others(tmp_path):
    with running_board(tmp_path / "board") as board:
        first = report(board.room, "Ada", step="03-Session-Handling", done={"callback": True, "store_id_token": True})
        token = board.post(first).json()["token"]
        only_cookie = report(board.room, "Ada", step="03-Session-Handling", done={"logout": True}, token=token)
        outcomes = only_cookie["result"]["outcomes"]
        only_cookie["result"]["outcomes"] = [item for item in outcomes if item["file"] == "cookie_app.py"]
        assert board.post(only_cookie).status_code == 200
        (row,) = BoardPage.read(board.page()).steps["03-Session-Handling"]
    cookie, wrapper = row.cells[:4], row.cells[4:]
    assert cookie == ["not done", "not done", "done", "not done"]  # graded again: callback and logout swapped
    assert wrapper == ["done", "not done", "not done"]  # as the first report left it


@pytest.mark.parametrize("step", list(STEPS))
def test_the_boards_columns_are_the_moves_grade_reports(step, tmp_path):
    """The board takes its columns from STEPS as the grader does: a report of a real grade fits them exactly."""
    command("start", step, "--into", str(tmp_path))
    _, printed = command("grade", step, "--into", str(tmp_path), "--json")
    graded = [(outcome["file"], outcome["move"]) for outcome in json.loads(printed)["outcomes"]]
    assert graded == [(file, move.function) for file, move in columns(STEPS[step])]
