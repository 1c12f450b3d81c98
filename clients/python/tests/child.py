"""Child processes of the file store scenario.

- ``write-loop PATH SECONDS``: rewrites the session file with alternating sessions until SECONDS pass.
- ``refresh PATH TOKEN_URL API_KEY GO_FILE``: waits for GO_FILE, then asks a token manager on the shared
  file store for the Authorization header and prints it.
"""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src"))

from latchkey import FileTokenStore, TokenManager, TokenSet  # noqa: E402


def write_loop(path: str, seconds: float) -> None:
    store = FileTokenStore(path)
    sessions = [
        TokenSet(access_token="a" * 600, access_expires_at=time.time() + 3600, refresh_token="r" * 40),
        TokenSet(access_token="b" * 900, access_expires_at=time.time() + 3600, refresh_token="s" * 80),
    ]
    deadline = time.time() + seconds
    n = 0
    while time.time() < deadline:
        store.save(sessions[n % 2])
        n += 1
    print(n)


def refresh(path: str, token_url: str, api_key: str, go_file: str) -> None:
    manager = TokenManager(None, token_url=token_url, protocol="gotrue", api_key=api_key, store=FileTokenStore(path), expiry_skew=5)
    while not os.path.exists(go_file):
        time.sleep(0.005)
    print(manager.authorization_header())


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    if command == "write-loop":
        write_loop(args[0], float(args[1]))
    elif command == "refresh":
        refresh(*args)
    else:
        raise SystemExit(f"unknown command {command}")
