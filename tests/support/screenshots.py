"""Screenshots for the docs, taken by the browser tests so they always show the current pages.

    save_screenshot(page, "02-custom-login-form", ports={tenant_port: 4000, app_port: 3000})

writes docs/screenshots/02-custom-login-form.png — only when that file is missing or
UPDATE_SCREENSHOTS=1 is set, so an ordinary test run never dirties the checkout.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "docs" / "screenshots"
VIEWPORT = {"width": 900, "height": 600}  # small enough to keep each PNG well under MAX_BYTES
MAX_BYTES = 100_000

# Tests run the tenant and the app on random ports; the docs should show the ports a reader gets.
_REWRITE_PORTS = """
(ports) => {
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const swap = (text) => text.replace(/localhost:(\\d+)/g, (all, port) => ports[port] ? `localhost:${ports[port]}` : all);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) node.nodeValue = swap(node.nodeValue);
}
"""


def should_write(path: Path) -> bool:
    return os.environ.get("UPDATE_SCREENSHOTS") == "1" or not path.exists()


def save_screenshot(page, name: str, ports: dict[int, int] | None = None, directory: Path = SCREENSHOTS) -> Path | None:
    """Save the visible page as directory/NAME.png at 900x600; return the path, or None when left as is.

    `ports` maps the test's random ports to the documented ones (e.g. {51234: 3000}) in the page's
    text before the shot; nothing else on the page is changed.
    """
    path = directory / f"{name}.png"
    if not should_write(path):
        return None
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", name):
        raise ValueError(f"screenshot name {name!r}: use lowercase words and dashes, e.g. 01-login-home")
    directory.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size(VIEWPORT)
    if ports:
        page.evaluate(_REWRITE_PORTS, {str(test): str(shown) for test, shown in ports.items()})
    page.screenshot(path=str(path), type="png")
    size = path.stat().st_size
    assert size < MAX_BYTES, (
        f"{path.name} is {size} bytes; keep screenshots under {MAX_BYTES} (smaller page or viewport)"
    )
    return path
