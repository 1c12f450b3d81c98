"""The README's Python examples run as written against a live server (only the address is changed)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from conftest import REPO, Server


def python_examples() -> str:
    readme = (REPO / "README.md").read_text()
    section = readme.split("\n### Python\n", 1)[1].split("\n### ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(blocks) == 3
    return "\n".join(blocks)


def test_readme_python_examples(server: Server, tmp_path: Path) -> None:
    created = server.http.post(
        f"{server.url}/auth/v1/admin/users",
        headers={"apikey": server.anon_key, "authorization": f"Bearer {server.service_role_key}"},
        json={"email": "ada@example.com", "password": "correct horse battery", "email_confirm": True},
    )
    assert created.status_code == 200, created.text
    user_id = created.json()["id"]
    script = python_examples().replace("http://127.0.0.1:8000", server.url).replace("ws://127.0.0.1:8000/connection/websocket", server.ws_url)
    env = {**os.environ, "HOME": str(tmp_path), "PYTHONPATH": str(REPO / "clients" / "python" / "src")}
    run = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == [
        "signed in as ada@example.com",
        "{'notes': []}",
        "200",
        "connecting 0 connect called",
        "connected",
        f"{{'method': 'echo', 'user': '{user_id}', 'data': {{'hello': 'world'}}}}",
        "disconnected 0 disconnect called",
    ]
    assert run.stderr == ""
    session_file = tmp_path / ".local" / "share" / "myapp" / "session.json"  # the last sign-in's session
    assert session_file.stat().st_mode & 0o777 == 0o600
