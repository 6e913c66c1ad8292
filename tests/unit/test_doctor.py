"""`python -m shared.doctor`: all ok against the dev tenant, and each problem with its fix and exit code."""

from __future__ import annotations

import contextlib
import io
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from email.utils import formatdate
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from shared.doctor import main
from tests.support.servers import free_port, serve

REPO = Path(__file__).resolve().parents[2]
SECRET_KEY = "k" * 40


def run_check(tmp_path: Path, **env: str) -> tuple[int, str]:
    """Run the command with exactly this environment and no .env file; return (exit code, output)."""
    empty = tmp_path / "empty.env"
    empty.touch()
    out = io.StringIO()
    code = main(["--env-file", str(empty)], environ=env, out=out)
    return code, out.getvalue()


def embedded_env(tenant, **extra: str) -> dict[str, str]:
    """The embedded default, pointed at the test tenant (same port, same state folder)."""
    port = tenant.issuer.rstrip("/").rsplit(":", 1)[1]
    return {"DEV_TENANT_PORT": port, "DEV_TENANT_STATE_DIR": str(tenant.state_dir), **extra}


def real_env(domain: str, tenant, **extra: str) -> dict[str, str]:
    from shared.dev_tenant import DEV_CLIENT_ID, dev_client_secret

    return {
        "AUTH0_DOMAIN": domain,
        "AUTH0_CLIENT_ID": DEV_CLIENT_ID,
        "AUTH0_CLIENT_SECRET": dev_client_secret(tenant.state_dir),
        "APP_SECRET_KEY": SECRET_KEY,
        **extra,
    }


def line_of(output: str, check: str) -> str:
    """The report line of one check: `  ok    issuer  ...` (mark, then the check's name from column 8)."""
    return next(line for line in output.splitlines() if line[8:].startswith(check + " "))


@contextlib.contextmanager
def fake_tenant(tenant, issuer: str | None = None, date: str | None = None) -> Iterator[str]:
    """A discovery document that lies about one thing; keys and token endpoint are the real tenant's."""
    port = free_port()
    url = f"http://localhost:{port}/"

    async def discovery(request: Request) -> JSONResponse:
        body = {
            "issuer": issuer or url,
            "jwks_uri": f"{tenant.issuer}.well-known/jwks.json",
            "token_endpoint": f"{tenant.issuer}oauth/token",
            "authorization_endpoint": f"{tenant.issuer}authorize",
        }
        return JSONResponse(body, headers={"date": date or formatdate(usegmt=True)})

    app = Starlette(routes=[Route("/.well-known/openid-configuration", discovery)])
    with serve(app, port, date_header=False):
        yield url


def test_all_checks_pass_against_the_running_dev_tenant(tenant, tmp_path):
    code, output = run_check(tmp_path, **embedded_env(tenant, APP_SECRET_KEY=SECRET_KEY))
    assert code == 0, output
    assert "FAIL" not in output
    for check in ("APP_SECRET_KEY", "tenant reachable", "issuer", "clock", "signing keys", "client credentials"):
        assert line_of(output, check).lstrip().startswith("ok"), output
    assert "All checks passed." in output


def test_real_tenant_reminds_of_the_allowed_callback_url(tenant, tmp_path):
    code, output = run_check(tmp_path, **real_env(tenant.issuer, tenant, PORT="3005"))
    assert code == 0, output
    assert "Allowed Callback URLs must contain http://localhost:3005/callback" in output
    assert "Allowed Logout URLs must contain   http://localhost:3005" in output


def test_dev_tenant_not_running_says_how_to_start_it(tmp_path):
    env = {"DEV_TENANT_PORT": str(free_port()), "DEV_TENANT_STATE_DIR": str(tmp_path / "state")}
    code, output = run_check(tmp_path, **env)
    assert code == 1, output
    assert "FAIL  tenant reachable" in output
    assert "uv run python -m shared.dev_tenant" in output
    assert "--    issuer" in output  # the checks that need the tenant are skipped, not failed


def test_something_else_on_the_dev_tenant_port_is_named(tmp_path):
    port = free_port()
    with serve(Starlette(), port):  # answers 404 to everything
        env = {"DEV_TENANT_PORT": str(port), "DEV_TENANT_STATE_DIR": str(tmp_path / "state")}
        code, output = run_check(tmp_path, **env)
    assert code == 1, output
    assert "something other than the dev tenant answers" in output and "DEV_TENANT_PORT" in output


def test_real_tenant_not_answering_points_at_auth0_domain(tenant, tmp_path):
    code, output = run_check(tmp_path, **real_env(f"http://localhost:{free_port()}", tenant))
    assert code == 1, output
    assert "fix: check AUTH0_DOMAIN" in output


def test_a_domain_without_http_on_a_plain_http_tenant_says_to_write_http(tenant, tmp_path):
    port = tenant.issuer.rstrip("/").rsplit(":", 1)[1]
    code, output = run_check(tmp_path, **real_env(f"localhost:{port}", tenant))
    assert code == 1, output
    assert "the answer came in plain http, not https" in line_of(output, "tenant reachable")
    assert f"fix: this server speaks plain http: write AUTH0_DOMAIN=http://localhost:{port}/" in output
    assert "WRONG_VERSION_NUMBER" not in output


def test_issuer_mismatch_names_both_issuers_and_auth0_domain(tenant, tmp_path):
    with fake_tenant(tenant, issuer="https://someone-else.example/") as url:
        code, output = run_check(tmp_path, **real_env(url, tenant))
    assert code == 1, output
    line = line_of(output, "issuer")
    assert "FAIL" in line and "https://someone-else.example/" in line and url in line
    assert "set AUTH0_DOMAIN" in output
    assert output.count("FAIL") == 1, output


def test_clock_skew_beyond_the_leeway_fails(tenant, tmp_path):
    ten_minutes_ago = formatdate(time.time() - 600, usegmt=True)
    with fake_tenant(tenant, date=ten_minutes_ago) as url:
        code, output = run_check(tmp_path, **real_env(url, tenant))
    assert code == 1, output
    line = line_of(output, "clock")
    assert "FAIL" in line and "ahead of the tenant" in line and "leeway 60 s" in line
    assert "sync this machine's clock" in output


def test_small_clock_difference_is_ok(tenant, tmp_path):
    with fake_tenant(tenant, date=formatdate(time.time() + 20, usegmt=True)) as url:
        code, output = run_check(tmp_path, **real_env(url, tenant))
    assert code == 0, output
    assert "behind the tenant" in line_of(output, "clock")


def test_short_app_secret_key_in_the_embedded_default_is_a_configuration_error(tenant, tmp_path):
    code, output = run_check(tmp_path, **embedded_env(tenant, APP_SECRET_KEY="too-short"))
    assert code == 2, output
    assert "FAIL  configuration  APP_SECRET_KEY is 9 characters" in output
    assert "secrets.token_urlsafe(48)" in output


def test_short_app_secret_key_with_a_real_tenant_is_a_configuration_error(tenant, tmp_path):
    code, output = run_check(tmp_path, **real_env(tenant.issuer, tenant, APP_SECRET_KEY="too-short"))
    assert code == 2, output
    assert "FAIL  configuration" in output and "APP_SECRET_KEY" in output


def test_half_configuration_names_the_missing_variables(tmp_path):
    code, output = run_check(tmp_path, AUTH0_DOMAIN="dev-abc123.us.auth0.com")
    assert code == 2, output
    assert "AUTH0_CLIENT_ID" in output and "AUTH0_CLIENT_SECRET" in output and "APP_SECRET_KEY" in output
    assert "Traceback" not in output


def test_wrong_client_secret_is_refused_by_the_token_endpoint(tenant, tmp_path):
    code, output = run_check(tmp_path, **real_env(tenant.issuer, tenant, AUTH0_CLIENT_SECRET="wrong"))
    assert code == 1, output
    assert "401 access_denied: Unauthorized" in line_of(output, "client credentials")
    assert "Regular Web Application" in output


def test_env_file_is_read(tenant, tmp_path):
    env_file = tmp_path / "tenant.env"
    env_file.write_text("\n".join(f"{key}={value}" for key, value in real_env(tenant.issuer, tenant).items()))
    out = io.StringIO()
    assert main(["--env-file", str(env_file)], environ={}, out=out) == 0, out.getvalue()
    assert "a real Auth0 tenant" in out.getvalue()


def test_missing_env_file_is_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--env-file", str(tmp_path / "nope.env")], environ={})
    assert exit_info.value.code == 2
    assert "no such file" in capsys.readouterr().err


def test_help_explains_the_exit_codes():
    result = subprocess.run(
        [sys.executable, "-m", "shared.doctor", "--help"], cwd=REPO, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0
    assert "--env-file" in result.stdout and "Exit code" in result.stdout


def test_a_dotenv_where_the_doctor_is_run_is_not_read_and_it_says_so(tmp_path, monkeypatch, capsys):
    (tmp_path / ".env").write_text("AUTH0_DOMAIN=dev-abc123.us.auth0.com\n")
    monkeypatch.chdir(tmp_path)
    code = main([], environ={"PORT": "not-a-port"}, out=io.StringIO())
    assert code == 2
    assert capsys.readouterr().err == (
        f"python -m shared.doctor: warning: .env is not read: move its settings to {REPO / '.env'}, "
        "the .env every step reads\n"
    )


def test_the_old_command_name_points_at_the_new_one_in_one_line():
    result = subprocess.run(
        [sys.executable, "-m", "shared.check"], cwd=REPO, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == "python -m shared.check: error: it is now `uv run python -m shared.doctor`\n"


def test_no_document_page_or_message_names_the_old_command():
    # "check" means Check Session only; the doctor's old name survives only in its pointer module.
    files = [
        *REPO.glob("*.md"),
        *REPO.glob("*/README.md"),
        *REPO.glob("docs/*.md"),
        *REPO.glob("[0-9]*/*.py"),
        *REPO.glob("shared/**/*.py"),
        *REPO.glob("shared/**/*.html"),
        REPO / ".env.example",
    ]
    old = re.compile(r"shared\.check\b(?!_)")
    named = [str(f.relative_to(REPO)) for f in files if f.name != "check.py" and old.search(f.read_text())]
    assert named == []


def test_all_checks_pass_against_a_generic_provider_and_name_the_issuer_form(generic_tenant, tmp_path):
    code, output = run_check(tmp_path, **real_env(generic_tenant.issuer, generic_tenant))
    assert code == 0, output
    assert "an OpenID Connect provider" in output
    assert "another provider's issuer, exactly as written" in line_of(output, "issuer")
    assert "end_session_endpoint" in line_of(output, "endpoints")


def test_a_trailing_slash_the_provider_does_not_have_fails_and_says_what_to_write(generic_tenant, tmp_path):
    code, output = run_check(tmp_path, **real_env(generic_tenant.issuer + "/", generic_tenant))
    assert code == 1, output
    assert "FAIL" in line_of(output, "issuer")
    assert f"set AUTH0_DOMAIN (environment or .env) to '{generic_tenant.issuer}' exactly" in output


def test_an_auth0_domain_names_auth0s_issuer_form(tenant, tmp_path):
    code, output = run_check(tmp_path, **real_env(tenant.issuer, tenant))
    assert code == 0, output
    assert "Auth0's form: https://DOMAIN/" in line_of(output, "issuer"), output
