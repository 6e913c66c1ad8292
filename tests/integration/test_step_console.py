"""What a learner reads in the console when a step starts."""

from __future__ import annotations

import subprocess
import sys

from tests.integration.conftest import ROOT


def banner_lines(console: str) -> list[str]:
    """The dev tenant's lines under its heading: issuer, client_id, demo user, password, state dir."""
    lines = console.splitlines()
    start = next(i for i, line in enumerate(lines) if "issuer:" in line)
    return [line.strip() for line in lines[start : start + 5]]


def test_a_step_reusing_the_dev_tenant_prints_the_demo_user_and_password_too(start_step):
    first = start_step("01-Login/app.py")
    second = start_step("02-Custom-Login/app.py")
    assert "Reusing the dev tenant already running" in second.console
    assert "demo user: demo@example.com" in second.console
    assert "password:  demo-Passw0rd" in second.console
    assert banner_lines(second.console) == banner_lines(first.console)


def test_a_step_started_with_a_short_app_secret_key_stops_and_says_how_to_make_one(start_step):
    step = start_step("01-Login/app.py", wait=False, APP_SECRET_KEY="short")
    assert step.process.wait(timeout=30) == 2, step.console
    assert step.console.startswith(
        "01-Login/app.py: error: APP_SECRET_KEY is 5 characters; it signs session cookies"
    ), step.console
    assert 'python -c "import secrets; print(secrets.token_urlsafe(48))"' in step.console
    assert "Traceback" not in step.console


def test_a_step_on_the_dev_tenants_port_stops_before_its_banner_naming_a_port_to_use(start_step, step_env):
    step = start_step("02-Custom-Login/app.py", wait=False, PORT=step_env["DEV_TENANT_PORT"])
    assert step.process.wait(timeout=30) == 2, step.console
    port = step_env["DEV_TENANT_PORT"]
    assert step.console == (
        f"02-Custom-Login/app.py: error: Port {port} is the dev tenant's (DEV_TENANT_PORT moves it): "
        "the app needs a port of its own; use --port 3000 (or PORT=3000).\n"
    )


def test_a_domain_without_http_on_a_plain_http_tenant_stops_the_step_saying_to_write_http(start_step, step_env):
    start_step("01-Login/app.py")  # runs the dev tenant, in plain http
    port = step_env["DEV_TENANT_PORT"]
    real = {"AUTH0_CLIENT_ID": "tutorial-app", "AUTH0_CLIENT_SECRET": "s", "APP_SECRET_KEY": "k" * 40}
    step = start_step("02-Custom-Login/app.py", wait=False, AUTH0_DOMAIN=f"localhost:{port}", **real)
    assert step.process.wait(timeout=30) == 2, step.console
    assert step.console == (
        f"02-Custom-Login/app.py: error: The tenant at https://localhost:{port}/ answered, but this server "
        f"speaks plain http: write AUTH0_DOMAIN=http://localhost:{port}/ (in the environment or .env).\n"
    )


def test_a_dotenv_where_the_step_is_started_is_not_read_and_the_step_says_so(step_env, tmp_path):
    """`cd 01-Login && uv run app.py` beside a .env of its own: one line says where settings go."""
    started_in = tmp_path / "01-Login"
    started_in.mkdir()
    (started_in / ".env").write_text("PORT=3999\n")
    result = subprocess.run(
        [sys.executable, str(ROOT / "01-Login/app.py")],
        cwd=started_in,
        env={**step_env, "PORT": "not-a-port"},  # stops at once, after the line about .env
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    warning, error = result.stderr.splitlines()
    assert warning == (
        f"{ROOT / '01-Login/app.py'}: warning: .env is not read: move its settings to {ROOT / '.env'}, "
        "the .env every step reads"
    )
    assert "PORT='not-a-port'" in error
