"""`cp .env.example .env`, unchanged, is the dev tenant: the file ships no live placeholder."""

import re
from pathlib import Path

from shared.config import load_settings

ROOT = Path(__file__).resolve().parents[2]


def test_env_example_copied_as_it_is_runs_on_the_dev_tenant(tmp_path):
    settings = load_settings({"DEV_TENANT_STATE_DIR": str(tmp_path)}, env_file=ROOT / ".env.example")
    assert settings.embedded, settings.issuer


def test_env_example_names_the_four_variables_of_a_real_tenant():
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    for name in ("AUTH0_DOMAIN=", "AUTH0_CLIENT_ID=", "AUTH0_CLIENT_SECRET=", "APP_SECRET_KEY="):
        assert f"# {name}" in text, name


def test_env_example_names_every_variable_the_configuration_reads():
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    read = set()
    for module in ("shared/config.py", "shared/dev_tenant/defaults.py"):
        source = (ROOT / module).read_text(encoding="utf-8")
        read |= set(re.findall(r'"((?:APP|AUTH0|DEV_TENANT|SESSION)_[A-Z_]+|PORT)"', source))
    assert {"DEV_TENANT_PORT", "DEV_TENANT_STATE_DIR", "PORT", "AUTH0_DOMAIN"} <= read  # the pattern still finds them
    assert [name for name in sorted(read) if f"# {name}=" not in text] == []
