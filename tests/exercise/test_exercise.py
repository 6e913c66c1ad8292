"""The exercise command (#21): a participant's copy with blank moves, a page naming a blank, and a
check that grades each move in a learner's words — run as a participant would, on tmp copies."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from shared.dev_tenant import DEMO_EMAIL, DEMO_PASSWORD
from shared.exercise import ROOT, STEPS, function_source, replace_function
from shared.exercise.__main__ import run
from shared.exercise.grading import load_source
from tests.support.forms import password_form
from tests.support.pages import log_in_as_demo
from tests.support.servers import free_port, serve

STEP_NAMES = list(STEPS)


def command(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    code = run(list(args), out=out)
    return code, out.getvalue()


def grade(step: str, into: Path, *more: str) -> tuple[int, str]:
    return command("grade", step, "--into", str(into), *more)


def outcomes(step: str, into: Path, *more: str) -> dict[tuple[str, str], dict]:
    code, text = grade(step, into, "--json", *more)
    found = json.loads(text)
    assert (code == 0) == (found["done"] == found["moves"])
    return {(item["file"], item["move"]): item for item in found["outcomes"]}


# ---- the copy ------------------------------------------------------------------------------


@pytest.mark.parametrize("step", STEP_NAMES)
def test_a_fresh_copy_fails_every_move_with_its_message_and_no_traceback(step, tmp_path):
    before = folder_contents(ROOT / step)
    assert command("start", step, "--into", str(tmp_path))[0] == 0
    code, text = grade(step, tmp_path)
    assert code == 1
    moves = len(STEPS[step].moves)  # each move once, in the one file that holds it
    assert text.count("✗") == moves and "✓" not in text
    assert "not written yet: write the body of" in text
    assert f"0 of {moves} moves done" in text
    assert "Traceback" not in text
    assert folder_contents(ROOT / step) == before  # the finished step is the solution: untouched


def folder_contents(folder: Path) -> dict[str, bytes]:
    return {str(path.relative_to(folder)): path.read_bytes() for path in folder.rglob("*.*") if path.is_file()}


@pytest.mark.parametrize("step", STEP_NAMES)
def test_the_copy_keeps_signatures_docstrings_and_a_todo_within_100_columns(step, tmp_path):
    command("start", step, "--into", str(tmp_path))
    for file in STEPS[step].files:
        finished = (ROOT / step / file).read_text(encoding="utf-8")
        copy = (tmp_path / step / file).read_text(encoding="utf-8")
        for move in STEPS[step].moves_in(file):
            blank = function_source(copy, move.function)
            head = function_source(finished, move.function).split('"""', 2)
            assert blank.startswith(f'{head[0]}"""{head[1]}"""')  # signature and docstring
            assert f"# TODO: {move.title}." in blank
            assert f"`uv run python -m shared.exercise grade {step}`" in blank
            assert f"{step}/README.md#{move.anchor}" in blank
            assert f'raise NotWrittenYet("{move.title}")' in blank
        assert max(len(line) for line in copy.splitlines()) <= 100


@pytest.mark.parametrize("step", STEP_NAMES)
def test_the_copy_with_the_finished_bodies_back_passes_every_move(step, tmp_path):
    command("start", step, "--into", str(tmp_path))
    assert command("reset", step, "--into", str(tmp_path), "--solved")[0] == 0
    code, text = grade(step, tmp_path)
    moves = len(STEPS[step].moves)
    assert code == 0, text
    assert text.count("✓") == moves and f"{moves} of {moves} moves done" in text


def test_reset_one_move_blanks_it_again_and_solution_prints_the_finished_code(tmp_path):
    step = "03-Session-Handling"
    command("start", step, "--into", str(tmp_path))
    command("reset", step, "--into", str(tmp_path), "--solved")
    assert command("reset", step, "--into", str(tmp_path), "--move", "check_session")[0] == 0
    found = outcomes(step, tmp_path)
    assert [key for key, item in found.items() if not item["done"]] == [("cookie_app.py", "check_session")]
    code, text = command("solution", step, "check_session")
    finished = (ROOT / step / "cookie_app.py").read_text(encoding="utf-8")
    assert code == 0 and text.strip() == function_source(finished, "check_session")


@pytest.mark.parametrize(
    "args",
    [
        ["start", "04-Nowhere"],
        ["solution", "03-Session-Handling", "no_such_move"],
        ["reset", "01-Login", "--move", "homepage"],
        ["grade", "02-Custom-Login"],  # no copy in the empty --into folder
        ["solution", "03-Session-Handling", "logout", "--file", "app.py"],
    ],
)
def test_bad_input_is_one_line_and_exit_2(args, tmp_path):
    into = ["--into", str(tmp_path / "empty")] if args[0] != "solution" else []
    if args[0] == "reset":
        command("start", "01-Login", "--into", str(tmp_path / "empty"))
    answer = subprocess.run(
        [sys.executable, "-m", "shared.exercise", *args, *into],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert answer.returncode == 2, answer
    assert len(answer.stderr.strip().splitlines()) == 1, answer.stderr
    assert "Traceback" not in answer.stderr


def test_starting_twice_does_not_overwrite_the_participants_work(tmp_path):
    command("start", "01-Login", "--into", str(tmp_path))
    answer = subprocess.run(
        [sys.executable, "-m", "shared.exercise", "start", "01-Login", "--into", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert answer.returncode == 2 and "already exists" in answer.stderr


def test_check_is_grades_old_name_and_says_so_in_one_line(tmp_path):
    command("start", "01-Login", "--into", str(tmp_path))

    def exercise(name: str) -> subprocess.CompletedProcess[str]:
        arguments = [sys.executable, "-m", "shared.exercise", name, "01-Login", "--into", str(tmp_path)]
        return subprocess.run(arguments, cwd=ROOT, capture_output=True, text=True)

    old, new = exercise("check"), exercise("grade")
    assert old.returncode == new.returncode == 1
    assert old.stdout == new.stdout and "0 of 3 moves done" in new.stdout
    assert old.stderr == "`check` is now called `grade`: uv run python -m shared.exercise grade 01-Login\n"
    assert new.stderr == ""


@pytest.mark.parametrize("command_name", ["start", "reset", "solution", "grade", "check"])
def test_every_subcommand_has_help(command_name):
    answer = subprocess.run(
        [sys.executable, "-m", "shared.exercise", command_name, "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert answer.returncode == 0 and "--into" in answer.stdout


# ---- one deliberate mistake per move: exactly that move fails, with its message ----------------


def mistake(copy: Path, function: str, old: str, new: str) -> None:
    source = copy.read_text(encoding="utf-8")
    body = function_source(source, function)
    assert old in body, f"{function} no longer has {old!r}"
    copy.write_text(replace_function(source, function, body.replace(old, new)), encoding="utf-8")


NOT_VERIFIED = (
    "claims = await ctx.tenant.verify_id_token(id_token)  # signature, iss, aud, exp",
    "import base64, json; part = id_token.split('.')[1]\n"
    "        claims = json.loads(base64.urlsafe_b64decode(part + '=' * (-len(part) % 4)))",
)

MISTAKES = {
    "03 logout keeps the record": (
        "03-Session-Handling",
        "cookie_app.py",
        "logout",
        "await ctx.records.end(session_key(id_token))",
        "pass",
        "after Log Out, a copy of the cookie still logs in",
    ),
    "03 check reads the token without verifying it": (
        "03-Session-Handling",
        "cookie_app.py",
        "check_session",
        *NOT_VERIFIED,
        "a token with a forged signature logs in",
    ),
    "03 callback keeps the old session": (
        "03-Session-Handling",
        "cookie_app.py",
        "callback",
        "request.session.clear()",
        "pass",
        "a value planted in the signed cookie before the login survives it",
    ),
    "03 back-channel accepts a token twice": (
        "03-Session-Handling",
        "cookie_app.py",
        "backchannel_logout",
        "    if not ended:\n",
        "    if False:\n",
        "the same logout token was accepted twice",
    ),
    "03 Lockr.set that keeps nothing": (
        "03-Session-Handling",
        "wrapper_app.py",
        "store_id_token",
        'request.session["id_token"] = id_token',
        "pass",
        "after Log In, the signed session holds no id_token",
    ),
    "03 Lockr.set under another name": (
        "03-Session-Handling",
        "wrapper_app.py",
        "store_id_token",
        'request.session["id_token"] = id_token',
        'request.session["token"] = id_token',
        "after Log In, the signed session holds no id_token",
    ),
    "03 Lockr.get that reads another name": (
        "03-Session-Handling",
        "wrapper_app.py",
        "read_id_token",
        'request.session.get("id_token")',
        'request.session.get("token")',
        "after Log In the next page shows you logged out",
    ),
    "03 Lockr.get that indexes the session": (
        "03-Session-Handling",
        "wrapper_app.py",
        "read_id_token",
        'request.session.get("id_token")',
        'request.session["id_token"]',
        "a visitor with no session gets an error page",
    ),
    "03 Lockr.rm that keeps the token": (
        "03-Session-Handling",
        "wrapper_app.py",
        "erase_id_token",
        'request.session.pop("id_token", None)',
        "pass",
        "a session Check Session refused still holds its id_token",
    ),
    "03 Lockr.rm that clears the whole session": (
        "03-Session-Handling",
        "wrapper_app.py",
        "erase_id_token",
        'request.session.pop("id_token", None)',
        "request.session.clear()",
        "erasing the id_token dropped the rest of the session",
    ),
    "01 login without the secrets kept": (
        "01-Login",
        "app.py",
        "login",
        'request.session["login"] = ',
        "_ = ",
        "keep state, nonce and code_verifier",
    ),
    "01 callback keeps the old session": (
        "01-Login",
        "app.py",
        "callback",
        "request.session.clear()",
        "pass",
        "a value planted in the signed cookie before the login survives it",
    ),
    "01 callback that skips the nonce": (
        "01-Login",
        "app.py",
        "callback",
        'verify_id_token(id_token, nonce=login["nonce"], from_tenant=True)',
        "verify_id_token(id_token, from_tenant=True)",
        "an id_token with another login's nonce is stored",
    ),
    "01 logout keeps the id_token": (
        "01-Login",
        "app.py",
        "logout",
        "    erase_id_token(request, response)\n",
        "",
        "after Log Out the cookie still holds the id_token",
    ),
    "02 wrong password not shown": (
        "02-Custom-Login",
        "app.py",
        "login",
        "return back_to_the_form(request, error, email)",
        'return RedirectResponse("/", status_code=303)',
        "a wrong password should show the form again with the tenant's error",
    ),
    "02 wrong password answered on the post": (
        "02-Custom-Login",
        "app.py",
        "login",
        "return back_to_the_form(request, error, email)",
        'return render(request, "index.html", error.status, error=error, email=email)',
        "a reload does not post the password again",
    ),
    "02 sign-up that does not create the user": (
        "02-Custom-Login",
        "app.py",
        "signup",
        'await sign_up(tenant, email, form["password"])',
        "pass",
        "Sign Up with a new email should create the user",
    ),
    "02 start_session without verifying": (
        "02-Custom-Login",
        "app.py",
        "start_session",
        "await context(request).tenant.verify_id_token(id_token, from_tenant=True)",
        "pass",
        "an id_token with a bad signature is stored",
    ),
    "02 Google without the connection": (
        "02-Custom-Login",
        "app.py",
        "login_with_google",
        ', connection="google-oauth2"',
        "",
        "the /authorize URL should carry connection=google-oauth2",
    ),
}


@pytest.mark.parametrize("name", MISTAKES)
def test_one_mistake_fails_exactly_that_move_with_its_message(name, tmp_path):
    step, file, function, old, new, message = MISTAKES[name]
    command("start", step, "--into", str(tmp_path))
    command("reset", step, "--into", str(tmp_path), "--solved")
    mistake(tmp_path / step / file, function, old, new)
    found = outcomes(step, tmp_path, "--file", file)
    failed = {key: item for key, item in found.items() if not item["done"]}
    assert list(failed) == [(file, function)], found
    assert message in failed[(file, function)]["message"]
    assert "Traceback" not in failed[(file, function)]["message"]


# ---- a running copy shows a blank move as a page naming it ------------------------------------


@pytest.mark.parametrize(
    ("file", "blank", "title"),
    [
        ("cookie_app.py", "callback", "Create Session"),
        ("cookie_app.py", "check_session", "Check Session"),
        ("wrapper_app.py", "read_id_token", "Read the id_token (Lockr.get)"),
    ],
)
def test_a_running_copy_shows_the_blank_move_as_a_page_naming_it(file, blank, title, tmp_path, tenant, http):
    step = "03-Session-Handling"
    command("start", step, "--into", str(tmp_path))
    command("reset", step, "--into", str(tmp_path), "--solved")
    command("reset", step, "--into", str(tmp_path), "--move", blank)
    path = tmp_path / step / file
    module = load_source(path, path.read_text(encoding="utf-8"))
    port = free_port()
    settings = tenant.settings_for(port, state_dir=tmp_path / "state")
    with serve(module.create_app(settings), port):
        if blank == "check_session":
            log_in_as_demo_with_blank(http, settings.base_url)
            page = http.get(f"{settings.base_url}/")
        elif blank == "read_id_token":  # Check Session reads it on every page, the first one too
            page = http.get(f"{settings.base_url}/")
        else:
            page = http.get(f"{settings.base_url}/login", follow_redirects=True)
            form = password_form(page.text, str(page.url))
            data = {**form.fields, "username": DEMO_EMAIL, "password": DEMO_PASSWORD}
            page = http.post(form.action, data=data, follow_redirects=True)
    assert page.status_code == 501, page.text
    assert f"Not written yet: {title}" in page.text
    assert f"{blank}()" in page.text and f"{file}, line " in page.text
    assert "Traceback" not in page.text and "Something went wrong" not in page.text


def log_in_as_demo_with_blank(http, url: str) -> None:
    """The login itself works (callback is written); the page after it runs the blank check."""
    try:
        log_in_as_demo(http, url)
    except AssertionError:
        pass  # the page after the login is the blank's page, not a logged-in one


def test_a_running_copy_of_step_01_shows_a_blank_log_in_as_its_page(tmp_path, tenant, http):
    command("start", "01-Login", "--into", str(tmp_path))
    path = tmp_path / "01-Login" / "app.py"
    module = load_source(path, path.read_text(encoding="utf-8"))
    port = free_port()
    settings = tenant.settings_for(port, state_dir=tmp_path / "state")
    with serve(module.create_app(settings), port):
        home = http.get(f"{settings.base_url}/")
        page = http.get(f"{settings.base_url}/login")
    assert home.status_code == 200 and 'id="btn-login"' in home.text  # the rest of the app runs
    assert page.status_code == 501
    assert "Not written yet: Log In" in page.text and "login()" in page.text


# ---- the teacher's page --------------------------------------------------------------------


def test_the_teachers_page_names_every_move_and_quotes_the_checks_own_words():
    page = (ROOT / "docs" / "teaching.md").read_text(encoding="utf-8")
    checks = "".join(
        (ROOT / "shared" / "exercise" / name).read_text(encoding="utf-8") for name in ("checks.py", "grading.py")
    )
    for step in STEPS.values():
        for move in step.moves:
            assert f"`{move.function}`" in page, move.function
    assert "rm -rf .dev-tenant exercises/" in page
    quoted = [line.split('"')[1] for line in page.splitlines() if line.startswith('- "')]
    assert quoted
    # The checks' messages are split over implicitly joined string literals: join them again.
    said = " ".join(checks.split()).replace('" "', "").replace('" f"', "")
    for words in quoted:
        assert words in said, f"docs/teaching.md quotes {words!r}, but no check says it"


# ---- a copy that crashes, or does not parse ----------------------------------------------------


def test_a_move_that_raises_names_the_exception_and_the_line_never_a_traceback(tmp_path):
    command("start", "01-Login", "--into", str(tmp_path))
    command("reset", "01-Login", "--into", str(tmp_path), "--solved")
    copy = tmp_path / "01-Login" / "app.py"
    mistake(copy, "callback", 'id_token = token["id_token"]', 'id_token = token["id-token"]')
    code, text = grade("01-Login", tmp_path)
    assert code == 1
    assert "✗ Callback (callback): after the tenant sends you back to /callback" in text
    assert "(the app raised KeyError: 'id-token' at " in text and "app.py, line " in text
    assert "Traceback" not in text and "2 of 3 moves done" in text


def test_a_copy_that_does_not_parse_fails_every_move_with_the_line(tmp_path):
    command("start", "01-Login", "--into", str(tmp_path))
    copy = tmp_path / "01-Login" / "app.py"
    copy.write_text(copy.read_text(encoding="utf-8") + "\ndef broken(:\n", encoding="utf-8")
    code, text = grade("01-Login", tmp_path)
    assert code == 1 and text.count("the copy does not load: ") == 3
    assert "Traceback" not in text


def test_every_todo_points_to_a_section_of_its_readme():
    """The anchor in each blank's TODO is a heading of the step's README (GitHub's slugs)."""
    import re

    from shared.exercise import STEPS

    for step in STEPS.values():
        readme = (ROOT / step.folder / "README.md").read_text(encoding="utf-8")
        slugs = {
            re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
            for heading in re.findall(r"^#+ (.+)$", readme, re.M)
        }
        for move in step.moves:
            assert move.anchor in slugs, f"{step.folder}/README.md has no section #{move.anchor}"
