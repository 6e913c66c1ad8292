"""Ctrl-C in a real terminal, as a learner stops a step: one line, exit status 0, the tenant's port free.

Pressed twice (an impatient learner), the stop is the same: the second Ctrl-C during the stop changes
nothing. A stop the learner asked for is a success, so the status is 0, not the shell's 130.
"""

from __future__ import annotations

import os
import pty
import select
import socket
import sys
import time

import httpx2
import pytest

from tests.integration.conftest import ROOT
from tests.support.servers import free_port

STEPS = ["01-Login/app.py", "02-Custom-Login/app.py", "03-Session-Handling/cookie_app.py"]


def read_until(fd: int, text: bytes, deadline: float, seen: bytearray) -> None:
    while text not in seen:
        if time.monotonic() > deadline:
            raise AssertionError(f"never printed {text!r}; the terminal showed:\n{seen.decode(errors='replace')}")
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # the child closed the terminal
                break
            seen.extend(chunk)


def read_the_rest(fd: int, seen: bytearray) -> None:
    """What the terminal still holds once the child has exited."""
    while select.select([fd], [], [], 0)[0]:
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # the terminal is closed: everything was read
            return
        if not chunk:
            return
        seen.extend(chunk)


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def wait_until_it_answers(url: str) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx2.get(url, timeout=2).status_code == 200:
                return
        except httpx2.TransportError:
            time.sleep(0.05)
    raise AssertionError(f"{url} never answered")


@pytest.mark.parametrize("presses", [1, 2], ids=["once", "twice"])
@pytest.mark.parametrize("serving", [True, False], ids=["while-serving", "while-starting"])
@pytest.mark.parametrize("step", STEPS)
def test_ctrl_c_in_a_terminal_stops_the_step_with_one_line_and_status_0(step, serving, presses, step_env):
    env = {**step_env, "PORT": str(free_port())}
    pid, fd = pty.fork()
    if pid == 0:  # the child: a step started in a terminal of its own, as `uv run` would start it
        os.chdir(ROOT)
        os.execve(sys.executable, [sys.executable, step], env)  # noqa: S606 (this project's own step)
    seen = bytearray()
    try:
        read_until(fd, b"Press Ctrl-C to stop.", time.monotonic() + 30, seen)
        if serving:
            wait_until_it_answers(f"http://localhost:{env['PORT']}/")
        before = len(seen)
        os.write(fd, b"\x03")  # Ctrl-C: the terminal sends SIGINT to the step
        if presses == 2:
            time.sleep(0.05)  # pressed again while the step is stopping
            os.write(fd, b"\x03")
        read_until(fd, b"stopped.", time.monotonic() + 20, seen)
        _, status = os.waitpid(pid, 0)
        read_the_rest(fd, seen)  # anything printed after the line, up to the exit
    finally:
        try:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        os.close(fd)
    after = seen[before:].decode(errors="replace")
    assert os.waitstatus_to_exitcode(status) == 0, after
    assert "Traceback" not in after and "KeyboardInterrupt" not in after, after
    lines = [line.strip() for line in after.replace("^C", "").splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].endswith("stopped."), after
    assert port_is_free(int(step_env["DEV_TENANT_PORT"])), "the dev tenant still holds its port"
