"""A live ``latchkey serve`` per server profile of the shared scenarios (clients/scenarios), started by the
shared launcher, plus helpers to create users, count token requests and publish."""

from __future__ import annotations

import json
import re
import subprocess
import uuid
from pathlib import Path
from typing import Any, Dict, Iterator

import httpx
import pytest

REPO = Path(__file__).resolve().parents[3]
SCENARIOS_DIR = REPO / "clients" / "scenarios"
SCENARIOS: Dict[str, Any] = json.loads((SCENARIOS_DIR / "scenarios.json").read_text())
TOKEN_COUNT = re.compile(r'^latchkey_http_request_duration_seconds_count\{method="POST",route="/auth/v1/(?:oauth/)?token",status="\d+"\} (\d+)$', re.M)


class Server:
    """A running ``latchkey serve``."""

    def __init__(self, jwt_expiry: int) -> None:
        self.process = subprocess.Popen(
            ["node", str(SCENARIOS_DIR / "launch-server.mjs"), "--jwt-expiry", str(jwt_expiry)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            self.process.wait(10)
            raise RuntimeError("the server launcher exited before the server was ready")
        info = json.loads(line)
        self.url: str = info["url"]
        self.ws_url: str = info["ws_url"]
        self.anon_key: str = info["anon_key"]
        self.service_role_key: str = info["service_role_key"]
        self.gateway_api_key: str = info["gateway_api_key"]
        self.http = httpx.Client(timeout=20)

    def create_user(self, password: str = SCENARIOS["password"]) -> Dict[str, str]:
        email = f"py-{uuid.uuid4().hex[:12]}@example.com"
        response = self.http.post(
            f"{self.url}/auth/v1/admin/users",
            headers={"apikey": self.anon_key, "authorization": f"Bearer {self.service_role_key}"},
            json={"email": email, "password": password, "email_confirm": True},
        )
        assert response.status_code == 200, response.text
        return {"email": email, "password": password, "id": response.json()["id"]}

    def token_requests(self) -> int:
        """Token requests the server has answered so far (its own metrics)."""
        text = self.http.get(f"{self.url}/metrics").text
        return sum(int(count) for count in TOKEN_COUNT.findall(text))

    def publish(self, channel: str, data: Any) -> None:
        response = self.http.post(f"{self.url}/api/publish", headers={"x-api-key": self.gateway_api_key}, json={"channel": channel, "data": data})
        assert response.status_code == 200 and "error" not in response.json(), response.text

    def close(self) -> None:
        self.http.close()
        if self.process.stdin:
            self.process.stdin.close()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class Servers:
    """Starts each profile's server on first use."""

    def __init__(self) -> None:
        self._running: Dict[str, Server] = {}

    def __getitem__(self, profile: str) -> Server:
        if profile not in self._running:
            self._running[profile] = Server(SCENARIOS["servers"][profile]["jwt_expiry"])
        return self._running[profile]

    def close(self) -> None:
        for server in self._running.values():
            server.close()


@pytest.fixture(scope="session")
def servers() -> Iterator[Servers]:
    running = Servers()
    try:
        yield running
    finally:
        running.close()


@pytest.fixture(scope="session")
def server(servers: Servers) -> Server:
    return servers["standard"]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A skipped scenario is a failed one: the suite must prove every behaviour."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None and reporter.stats.get("skipped") and exitstatus == 0:
        session.exitstatus = 1
