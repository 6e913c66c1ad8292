"""axe-core in the browser: a page's WCAG 2.1 A/AA violations as one readable test failure.

axe-playwright-python ships axe-core's script, so nothing is downloaded at run time (workshops are
offline). The apps' and the tenant's CSP forbid scripts: the page must come from a browser context
opened with bypass_csp=True, or the injected script may not run.
"""

from __future__ import annotations

from typing import Any

from axe_playwright_python.sync_playwright import Axe

WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]

_axe = Axe()


def violations(page: Any) -> list[dict[str, Any]]:
    """axe's violations on the page as it is now, for the WCAG 2.0 and 2.1 A and AA rules only."""
    options = {"runOnly": {"type": "tag", "values": WCAG_21_AA}, "resultTypes": ["violations"]}
    return list(_axe.run(page, options=options).response["violations"])


def describe(found: list[dict[str, Any]]) -> str:
    lines = []
    for violation in found:
        for node in violation["nodes"]:
            target = " ".join(str(part) for part in node["target"])
            summary = (node.get("failureSummary") or "").replace("\n", " ")
            lines.append(f"- {violation['id']} ({violation['impact']}) at {target}: {violation['help']}. {summary}")
    return "\n".join(lines)


def assert_no_violations(page: Any, name: str) -> None:
    """Fail with one line per offending element: rule id, impact, target, what the rule asks."""
    found = violations(page)
    assert not found, f"{name} ({page.url}): {len(found)} axe rule(s) violated:\n{describe(found)}"
