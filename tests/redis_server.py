"""A real `redis-server` on a free loopback port (no persistence), which tests can kill, restart on
the same port, pause and resume."""
from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time

import pytest

from .localhttp import free_port

REDIS = shutil.which("redis-server") or "/usr/bin/redis-server"


class RedisServer:
    """One redis-server process; `url` stays the same across restarts."""

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        self.proc = subprocess.Popen(
            [REDIS, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--protected-mode", "yes", "--loglevel", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.ping():
                return self
            if self.proc.poll() is not None:
                raise AssertionError(f"redis-server exited with {self.proc.returncode}")
            time.sleep(0.05)
        raise AssertionError("redis-server did not come up")

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def kill(self) -> None:
        """Stop it hard (SIGKILL), as a crash would."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.kill()
            self.proc.wait(10)

    def pause(self) -> None:
        """Freeze it (SIGSTOP): connections hang, as with an overloaded or unreachable server."""
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        self.proc.send_signal(signal.SIGCONT)

    def client(self):
        import redis

        return redis.Redis.from_url(self.url, decode_responses=True, socket_timeout=2)


def require_redis() -> None:
    if not shutil.which("redis-server") and not shutil.which(REDIS):
        pytest.skip("redis-server is not installed (`make redis` installs it as root, or "
                    "`sudo apt-get install -y redis-server`)")


@pytest.fixture
def redis_server():
    """A fresh redis-server for one test."""
    require_redis()
    srv = RedisServer().start()
    try:
        yield srv
    finally:
        srv.kill()
