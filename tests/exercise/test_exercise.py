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
from shared.exercise.serving import load_source
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
    assert answer.returncode == 2 and "is already your copy" in answer.stderr


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
STATE_COMPARED = "if not login or not hmac.compare_digest(state.encode(), expected.encode()):"
POPPED = 'login = request.session.pop("login", None)'
NONCE = 'verify_id_token(id_token, nonce=login["nonce"], from_tenant=True)'
CLEARED = "request.session.clear()"
TO_AUTHORIZE = 'return RedirectResponse(login["url"], status_code=302)'

STEP01 = ("01-Login", "app.py")
STEP02 = ("02-Custom-Login", "app.py")
COOKIE = ("03-Session-Handling", "cookie_app.py")
WRAPPER = ("03-Session-Handling", "wrapper_app.py")

# Each: (step, file, move, finished code, the mistake, what the grader must say). The finished code
# is quoted from the step as it is on main: a mutation whose code is gone fails loudly (mistake()).
MISTAKES = {
    # 01 Log In
    "01 login without the secrets kept": (
        *STEP01,
        "login",
        'request.session["login"] = ',
        "_ = ",
        "keep state, nonce and code_verifier",
    ),
    "01 login that keeps no nonce": (
        *STEP01,
        "login",
        '("state", "nonce", "code_verifier")',
        '("state", "code_verifier")',
        "keep state, nonce and code_verifier",
    ),
    "01 login that goes nowhere": (
        *STEP01,
        "login",
        TO_AUTHORIZE,
        'return RedirectResponse("/", status_code=302)',
        "/login should redirect to the tenant's /authorize",
    ),
    # 01 Callback
    "01 callback keeps the old session": (
        *STEP01,
        "callback",
        CLEARED,
        "pass",
        "a value planted in the signed cookie before the login survives it",
    ),
    "01 callback that skips the nonce": (
        *STEP01,
        "callback",
        NONCE,
        "verify_id_token(id_token, from_tenant=True)",
        "an id_token with another login's nonce is stored",
    ),
    "01 callback that never compares the state": (
        *STEP01,
        "callback",
        STATE_COMPARED,
        "if not login:",
        "compare the state with login['state']",
    ),
    "01 callback that reads the login with .get": (
        *STEP01,
        "callback",
        POPPED,
        'login = request.session.get("login", None)',
        "request.session.pop('login', None)",
    ),
    "01 callback that stores the token unverified": (
        *STEP01,
        "callback",
        'claims = await ctx.tenant.verify_id_token(id_token, nonce=login["nonce"], from_tenant=True)',
        "import base64, json; part = id_token.split('.')[1]\n"
        "    claims = json.loads(base64.urlsafe_b64decode(part + '=' * (-len(part) % 4)))",
        "an id_token with a bad signature is stored",
    ),
    "01 callback whose cookie page scripts can read": (
        *STEP01,
        "callback",
        "store_id_token(request, response, id_token)",
        "response.set_cookie(context(request).cookie(ID_TOKEN_COOKIE), id_token)",
        "the id_token's cookie should be HttpOnly",
    ),
    # 01 Log Out
    "01 logout that keeps the session": (
        *STEP01,
        "logout",
        CLEARED,
        "pass",
        "after Log Out the signed cookie still holds",
    ),
    "01 logout that keeps the cookie": (
        *STEP01,
        "logout",
        "erase_id_token(request, response)",
        "pass",
        "after Log Out the cookie still holds the id_token",
    ),
    "01 logout that answers a page": (
        *STEP01,
        "logout",
        'response = RedirectResponse("/", status_code=303)',
        'response = render(request, "logout.html")',
        "Log Out should redirect once it is done",
    ),
    # 02 Log In with a password
    "02 wrong password not shown": (
        *STEP02,
        "login",
        "return back_to_the_form(request, error, email)",
        'return RedirectResponse("/", status_code=303)',
        "a wrong password should show the form again with the tenant's error",
    ),
    "02 login that never starts the session": (
        *STEP02,
        "login",
        "return await start_session(request, id_token)",
        'return RedirectResponse("/", status_code=303)',
        "the demo user's email and password should log in",
    ),
    "02 wrong password answered on the post": (
        *STEP02,
        "login",
        "return back_to_the_form(request, error, email)",
        'return render(request, "index.html", error.status, error=error, email=email)',
        "a reload does not post the password again",
    ),
    # 02 Sign Up
    "02 sign-up that does not create the user": (
        *STEP02,
        "signup",
        'await sign_up(tenant, email, form["password"])',
        "pass",
        "Sign Up with a new email should create the user",
    ),
    "02 sign-up that hides a taken email": (
        *STEP02,
        "signup",
        "return back_to_the_form(request, error, email)",
        'return RedirectResponse("/", status_code=303)',
        "Sign Up with an email that already has a user should show the form with the error",
    ),
    "02 sign-up that never starts the session": (
        *STEP02,
        "signup",
        "return await start_session(request, id_token)",
        'return RedirectResponse("/", status_code=303)',
        "Sign Up with a new email should create the user",
    ),
    # 02 Start Session
    "02 start_session without verifying": (
        *STEP02,
        "start_session",
        "await context(request).tenant.verify_id_token(id_token, from_tenant=True)",
        "pass",
        "an id_token with a bad signature is stored",
    ),
    "02 start_session keeps the old session": (
        *STEP02,
        "start_session",
        CLEARED,
        "pass",
        "a value planted in the signed cookie before the login survives it",
    ),
    "02 start_session that stores nothing": (
        *STEP02,
        "start_session",
        "store_id_token(request, response, id_token)",
        "pass",
        "after a right password you are not logged in",
    ),
    # 02 Log In with Google
    "02 Google without the connection": (
        *STEP02,
        "login_with_google",
        ', connection="google-oauth2"',
        "",
        "the /authorize URL should carry connection=google-oauth2",
    ),
    "02 Google without the secrets kept": (
        *STEP02,
        "login_with_google",
        'request.session["login"] = ',
        "_ = ",
        "keep state, nonce and code_verifier",
    ),
    "02 Google that goes nowhere": (
        *STEP02,
        "login_with_google",
        TO_AUTHORIZE,
        'return RedirectResponse("/", status_code=302)',
        "should redirect to the tenant's /authorize",
    ),
    # 03 Create Session
    "03 callback keeps the old session": (
        *COOKIE,
        "callback",
        CLEARED,
        "pass",
        "a value planted in the signed cookie before the login survives it",
    ),
    "03 callback that never compares the state": (
        *COOKIE,
        "callback",
        STATE_COMPARED,
        "if not login:",
        "compare the state with login['state']",
    ),
    "03 callback that reads the login with .get": (
        *COOKIE,
        "callback",
        POPPED,
        'login = request.session.get("login", None)',
        "request.session.pop('login', None)",
    ),
    "03 callback that skips the nonce": (
        *COOKIE,
        "callback",
        NONCE,
        "verify_id_token(id_token, from_tenant=True)",
        "an id_token with another login's nonce is stored",
    ),
    "03 callback whose record never ends": (
        *COOKIE,
        "callback",
        'ends = min(now + ctx.settings.session_absolute_timeout, claims["exp"])',
        "ends = now + 10 * 365 * 86400",
        "the session's record outlives the absolute timeout",
    ),
    # 03 Check Session
    "03 check reads the token without verifying it": (
        *COOKIE,
        "check_session",
        *NOT_VERIFIED,
        "a token with a forged signature logs in",
    ),
    "03 check that ignores a missing record": (
        *COOKIE,
        "check_session",
        "record = await ctx.records.get(session_key(id_token))",
        "return SessionCheck(claims)",
        "a token whose record is gone still logs in",
    ),
    "03 check without the idle timeout": (
        *COOKIE,
        "check_session",
        "if now - record.last_used_at > settings.session_idle_timeout:",
        "if False:",
        "a session unused for longer than the idle timeout still logs in",
    ),
    "03 check without the absolute timeout": (
        *COOKIE,
        "check_session",
        "elif now >= record.expires_at:",
        "elif False:",
        "a session past its absolute timeout still logs in",
    ),
    # 03 Logout
    "03 logout keeps the record": (
        *COOKIE,
        "logout",
        "await ctx.records.end(session_key(id_token))",
        "pass",
        "after Log Out, a copy of the cookie still logs in",
    ),
    "03 logout that keeps the session": (
        *COOKIE,
        "logout",
        CLEARED,
        "pass",
        "after Log Out the signed cookie still holds",
    ),
    "03 logout without the tenant's logout": (
        *COOKIE,
        "logout",
        "response = RedirectResponse(logout_url, status_code=303)",
        'response = RedirectResponse("/", status_code=303)',
        "Log Out should end the tenant's session too",
    ),
    "03 logout that names no tenant session": (
        *COOKIE,
        "logout",
        "logout_url(ctx.settings.base_url, sid=sid)",
        "logout_url(ctx.settings.base_url)",
        "Log Out should name the tenant session it ends",
    ),
    "03 logout that keeps the cookie": (
        *COOKIE,
        "logout",
        "ctx.holder.erase(request, response)",
        "pass",
        "after Log Out the cookie still holds the id_token",
    ),
    # 03 Back-channel logout
    "03 back-channel accepts a token twice": (
        *COOKIE,
        "backchannel_logout",
        "    if not ended:\n",
        "    if False:\n",
        "the same logout token was accepted twice",
    ),
    "03 back-channel without verifying": (
        *COOKIE,
        "backchannel_logout",
        'claims = await ctx.tenant.verify_logout_token(form.get("logout_token", ""))',
        'import base64, json; part = form.get("logout_token", "").split(".")[1]\n'
        "        claims = json.loads(base64.urlsafe_b64decode(part + '=' * (-len(part) % 4)))",
        "a logout token with a forged signature was accepted",
    ),
    "03 back-channel that ignores the sid": (
        *COOKIE,
        "backchannel_logout",
        'sid=claims.get("sid"),',
        "sid=None,",
        "pass the token's sid (sid=claims.get('sid'))",
    ),
    "03 back-channel that ignores the sub": (
        *COOKIE,
        "backchannel_logout",
        'sub=claims.get("sub"),',
        "sub=None,",
        "a logout token naming only the user (sub, no sid) left their session open",
    ),
    "03 back-channel that forgets the sid": (
        *COOKIE,
        "backchannel_logout",
        "sid_ended_until=ctx.clock() + ctx.settings.session_absolute_timeout,",
        "sid_ended_until=0,",
        "a late callback for the same sid could still start a session",
    ),
    # 03 the wrapper's three Lockr calls
    "03 Lockr.set that keeps nothing": (
        *WRAPPER,
        "store_id_token",
        'request.session["id_token"] = id_token',
        "pass",
        "after Log In, the signed session holds no id_token",
    ),
    "03 Lockr.set under another name": (
        *WRAPPER,
        "store_id_token",
        'request.session["id_token"] = id_token',
        'request.session["token"] = id_token',
        "after Log In, the signed session holds no id_token",
    ),
    "03 Lockr.set in a cookie of its own": (
        *WRAPPER,
        "store_id_token",
        'request.session["id_token"] = id_token',
        'response.set_cookie("id_token", id_token)',
        "after Log In, the signed session holds no id_token",
    ),
    "03 Lockr.get that reads another name": (
        *WRAPPER,
        "read_id_token",
        'request.session.get("id_token")',
        'request.session.get("token")',
        "after Log In the next page shows you logged out",
    ),
    "03 Lockr.get that indexes the session": (
        *WRAPPER,
        "read_id_token",
        'request.session.get("id_token")',
        'request.session["id_token"]',
        "a visitor with no session gets an error page",
    ),
    "03 Lockr.get that reads a plain cookie": (
        *WRAPPER,
        "read_id_token",
        'request.session.get("id_token")',
        'request.cookies.get("id_token")',
        "after Log In the next page shows you logged out",
    ),
    "03 Lockr.rm that keeps the token": (
        *WRAPPER,
        "erase_id_token",
        'request.session.pop("id_token", None)',
        "pass",
        "a session Check Session refused still holds its id_token",
    ),
    "03 Lockr.rm that clears the whole session": (
        *WRAPPER,
        "erase_id_token",
        'request.session.pop("id_token", None)',
        "request.session.clear()",
        "erasing the id_token dropped the rest of the session",
    ),
    "03 Lockr.rm that pops another name": (
        *WRAPPER,
        "erase_id_token",
        'request.session.pop("id_token", None)',
        'request.session.pop("login", None)',
        "a session Check Session refused still holds its id_token",
    ),
}


def test_every_move_has_at_least_three_mistakes():
    for step in STEPS.values():
        for file in step.files:
            for move in step.moves_in(file):
                tried = [
                    name for name, (s, f, m, *_) in MISTAKES.items() if (s, f, m) == (step.folder, file, move.function)
                ]
                assert len(tried) >= 3, f"{step.folder} {file} {move.function}: {tried}"


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
    checks = "".join(path.read_text(encoding="utf-8") for path in (ROOT / "shared" / "exercise").glob("*.py"))
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


# ---- no work lost, and the steps never touched (#30 item 2, #31 item 6) -----------------------


def exercise(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "shared.exercise", *args], cwd=ROOT, capture_output=True, text=True)


def test_reset_keeps_the_participants_version_beside_it_and_says_where(tmp_path):
    command("start", "01-Login", "--into", str(tmp_path))
    copy = tmp_path / "01-Login" / "app.py"
    finished = function_source((ROOT / "01-Login" / "app.py").read_text(encoding="utf-8"), "callback")
    mine = replace_function(copy.read_text(encoding="utf-8"), "callback", finished) + "# my work\n"
    copy.write_text(mine, encoding="utf-8")
    code, text = command("reset", "01-Login", "--into", str(tmp_path), "--move", "callback")
    assert code == 0 and len(text.strip().splitlines()) == 1
    assert "app.py" in text and "app.py.bak" in text, text
    assert (copy.parent / "app.py.bak").read_text(encoding="utf-8") == mine
    code, text = command("reset", "01-Login", "--into", str(tmp_path))  # the whole copy again
    assert code == 0 and "app.py.bak2" in text, text
    assert "# my work" in (copy.parent / "app.py.bak2").read_text(encoding="utf-8")
    assert "# my work" in (copy.parent / "app.py.bak").read_text(encoding="utf-8")
    assert "nothing to change" in command("reset", "01-Login", "--into", str(tmp_path))[1]


def test_reset_takes_file_and_names_only_the_files_it_changed(tmp_path):
    step = "03-Session-Handling"
    command("start", step, "--into", str(tmp_path))
    command("reset", step, "--into", str(tmp_path), "--solved")
    cookie = (tmp_path / step / "cookie_app.py").read_text(encoding="utf-8")
    code, text = command("reset", step, "--into", str(tmp_path), "--file", "wrapper_app.py")
    assert code == 0 and "wrapper_app.py" in text and "cookie_app.py" not in text, text
    assert (tmp_path / step / "cookie_app.py").read_text(encoding="utf-8") == cookie
    answer = exercise("reset", step, "--into", str(tmp_path), "--move", "logout", "--file", "wrapper_app.py")
    assert answer.returncode == 2 and "logout is a move of cookie_app.py" in answer.stderr


def test_start_on_an_existing_copy_says_how_to_run_and_grade_it(tmp_path):
    command("start", "01-Login", "--into", str(tmp_path))
    answer = exercise("start", "01-Login", "--into", str(tmp_path))
    assert answer.returncode == 2 and len(answer.stderr.strip().splitlines()) == 1
    assert "uv run " in answer.stderr and "app.py" in answer.stderr
    assert f"python -m shared.exercise grade 01-Login --into {tmp_path}" in answer.stderr
    assert "reset" not in answer.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["reset", "01-Login", "--move", "logout", "--into", "."],
        ["reset", "03-Session-Handling", "--into", "."],
        ["reset", "03-Session-Handling", "--solved", "--into", "."],
        ["start", "01-Login", "--into", "01-Login"],
        ["grade", "02-Custom-Login", "--into", "."],
    ],
)
def test_the_exercise_tool_never_touches_a_step(args):
    before = {step: folder_contents(ROOT / step) for step in STEPS}
    answer = exercise(*args)
    assert answer.returncode == 2, answer
    assert len(answer.stderr.strip().splitlines()) == 1 and "Traceback" not in answer.stderr
    assert "a copy lives elsewhere" in answer.stderr
    assert {step: folder_contents(ROOT / step) for step in STEPS} == before


def test_a_copy_folder_linked_to_a_step_is_refused(tmp_path):
    (tmp_path / "01-Login").symlink_to(ROOT / "01-Login")
    (tmp_path / "repo").symlink_to(ROOT)
    before = folder_contents(ROOT / "01-Login")
    for into, args in (
        (tmp_path, ["reset", "01-Login", "--move", "login"]),
        (tmp_path / "repo", ["start", "01-Login"]),
    ):
        answer = exercise(*args, "--into", str(into))
        assert answer.returncode == 2 and "a copy lives elsewhere" in answer.stderr, answer
    copy = tmp_path / "room" / "01-Login"
    command("start", "01-Login", "--into", str(tmp_path / "room"))
    (copy / "app.py").unlink()
    (copy / "app.py").symlink_to(ROOT / "01-Login" / "app.py")
    answer = exercise("reset", "01-Login", "--into", str(tmp_path / "room"))
    assert answer.returncode == 2 and "links into the repository's 01-Login" in answer.stderr, answer
    assert folder_contents(ROOT / "01-Login") == before


def test_into_a_file_and_a_copy_that_is_not_utf8_are_one_line_errors(tmp_path):
    a_file = tmp_path / "notes.txt"
    a_file.write_text("not a folder", encoding="utf-8")
    answer = exercise("start", "01-Login", "--into", str(a_file))
    assert answer.returncode == 2 and len(answer.stderr.strip().splitlines()) == 1, answer
    assert "notes.txt is a file" in answer.stderr and "Traceback" not in answer.stderr
    command("start", "01-Login", "--into", str(tmp_path))
    copy = tmp_path / "01-Login" / "app.py"
    copy.write_bytes(copy.read_bytes() + b"\n# caf\xe9\n")
    for args in (["grade", "01-Login"], ["reset", "01-Login", "--move", "login"]):
        answer = exercise(*args, "--into", str(tmp_path))
        assert answer.returncode == 2 and len(answer.stderr.strip().splitlines()) == 1, answer
        assert "app.py is not UTF-8 text" in answer.stderr and "Traceback" not in answer.stderr


@pytest.mark.parametrize("step", STEP_NAMES)
def test_the_copys_readme_keeps_the_prose_not_the_moves_and_its_links_work(step, tmp_path):
    import re

    command("start", step, "--into", str(tmp_path / "room"))
    copy = tmp_path / "room" / step
    pages = sorted(path.name for path in (ROOT / step).glob("*.md"))
    assert pages and sorted(path.name for path in copy.glob("*.md")) == pages
    for name in pages:
        page = (copy / name).read_text(encoding="utf-8")
        finished = (ROOT / step / name).read_text(encoding="utf-8")
        for file in STEPS[step].files:
            source = (ROOT / step / file).read_text(encoding="utf-8")
            for move in STEPS[step].moves_in(file):
                if f"<!-- listing: {step}/{file}#{move.function} -->" not in finished:
                    continue
                body = function_source(source, move.function).splitlines()[-1]
                assert body not in page, f"{move.function}'s finished code is in the copy's {name}"
                assert f"shared.exercise solution {step} {move.function}" in page
        assert page.count("\n## ") == finished.count("\n## ")  # every section of prose is there
        for target in re.findall(r"\]\(([^)\s]+)\)", page):
            if re.match(r"^[a-z]+:|^#", target):
                continue
            assert (copy / target.partition("#")[0]).exists(), f"{name}: {target} does not resolve from the copy"


def test_a_check_session_that_sets_no_record_is_named_on_the_panel_never_none(tmp_path, tenant, http):
    step = "03-Session-Handling"
    command("start", step, "--into", str(tmp_path))
    command("reset", step, "--into", str(tmp_path), "--solved")
    path = tmp_path / step / "cookie_app.py"
    mistake(path, "check_session", "return SessionCheck(claims, record)", "return SessionCheck(claims)")
    module = load_source(path, path.read_text(encoding="utf-8"))
    port = free_port()
    settings = tenant.settings_for(port, state_dir=tmp_path / "state")
    with serve(module.create_app(settings), port):
        log_in_as_demo(http, settings.base_url)
        page = http.get(f"{settings.base_url}/")
    assert page.status_code == 200
    assert "Check Session returned no record" in page.text
    assert "None" not in page.text
    assert f"{tmp_path / step}/cookie_app.py" in page.text  # the running copy, not the finished step
