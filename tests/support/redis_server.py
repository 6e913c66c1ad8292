"""A real redis-server on a free loopback port, for the session-store tests (started like the apps are).

NO_PERSISTENCE (the default) keeps nothing on disk: fast, for tests that never restart Redis.
DURABLE is what docs/redis.md recommends for a session store; PACKAGED_DEFAULTS is redis-server's own
default (as Debian's redis.conf has it): snapshots now and then, no append-only file. A RedisServer
can be killed (kill -9, a crash) and started again from its files in the same folder.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from tests.support.servers import free_port

REDIS_SERVER = "redis-server"
NO_PERSISTENCE = ("--save", "", "--appendonly", "no")
PACKAGED_DEFAULTS: tuple[str, ...] = ()  # save 3600 1 300 100 60 10000, appendonly no
DURABLE = ("--appendonly", "yes", "--appendfsync", "always")


def redis_server_path() -> str | None:
    return shutil.which(REDIS_SERVER) or (
        f"/usr/bin/{REDIS_SERVER}" if Path(f"/usr/bin/{REDIS_SERVER}").exists() else None
    )


class RedisServer:
    """One redis-server, loopback only, its files in `directory`; the same port on every start."""

    def __init__(self, directory: Path, persistence: Sequence[str] = NO_PERSISTENCE) -> None:
        path = redis_server_path()
        assert path, "redis-server is not installed (apt-get install redis-server)"
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.args = [path, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(directory), *persistence]
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(self.args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):  # not -LOADING: its files are read
                    return
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start on port {self.port}")
            time.sleep(0.05)

    def kill(self) -> None:
        """kill -9: a crash, with no chance to write anything more."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        self.process = None

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@contextlib.contextmanager
def redis_server(directory: Path, persistence: Sequence[str] = NO_PERSISTENCE) -> Iterator[RedisServer]:
    """A started RedisServer until the block ends."""
    server = RedisServer(directory, persistence)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def running_redis(directory: Path, persistence: Sequence[str] = NO_PERSISTENCE) -> Iterator[str]:
    """Start redis-server (by default no persistence, loopback only) and yield its URL until the block ends."""
    with redis_server(directory, persistence) as server:
        yield server.url
