"""Where a session's tokens live: ``TokenStore`` (``load``/``save``/``clear``), ``MemoryTokenStore`` (the
default) and ``FileTokenStore`` (an owner-only JSON file shared between processes)."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import threading
import time
import warnings
from typing import Callable, ContextManager, Iterator, Optional

from ..errors import StoreLockTimeoutError
from .tokens import TokenSet


class TokenStore:
    """A place for one session. A store shared between processes also implements ``lock()``: the manager
    then reloads, refreshes and saves while holding it, so one process's rotation is adopted by the others
    instead of being repeated with a spent refresh token."""

    def load(self) -> Optional[TokenSet]:
        raise NotImplementedError

    def save(self, tokens: TokenSet) -> None:
        raise NotImplementedError

    def clear(self) -> None:
        raise NotImplementedError

    def lock(self) -> ContextManager[None]:
        """A lock shared with every other user of the same storage. Default: none needed."""
        return contextlib.nullcontext()


class MemoryTokenStore(TokenStore):
    """Keeps the session in memory for the life of the process."""

    def __init__(self, initial: Optional[TokenSet] = None) -> None:
        self._tokens = initial
        self._guard = threading.Lock()

    def load(self) -> Optional[TokenSet]:
        with self._guard:
            return self._tokens

    def save(self, tokens: TokenSet) -> None:
        with self._guard:
            self._tokens = tokens

    def clear(self) -> None:
        with self._guard:
            self._tokens = None


class FileTokenStore(TokenStore):
    """Keeps the session in a JSON file of mode 0600 inside a folder created with mode 0700, in the same
    format as the TypeScript and Go clients, so a command-line login is seen by every process.

    - Writes are atomic: a temporary file (0600) is written, fsynced and renamed over the target, then the
      folder is fsynced; a reader never sees half a file, even if the writer is killed.
    - ``lock()`` is a cross-process lock: ``fcntl.flock`` on ``<path>.lock``. The kernel releases it when
      its holder exits, so a crashed process never leaves it stuck.
    - A file that is not a session is moved aside to ``<path>.corrupt-<time>`` with a warning; a file
      readable by others is set back to 0600 with a warning.

    :param lock_timeout: seconds to wait for the lock before ``StoreLockTimeoutError``. Default 30.
    """

    def __init__(self, path: "os.PathLike[str] | str", *, lock_timeout: float = 30.0, on_warning: Optional[Callable[[str], None]] = None) -> None:
        path = os.fspath(path)
        if not path:
            raise ValueError("path must be a non-empty path")
        if lock_timeout < 0:
            raise ValueError("lock_timeout must be >= 0")
        self.path = os.path.abspath(os.path.expanduser(path))
        self.lock_timeout = lock_timeout
        self._warn = on_warning or (lambda message: warnings.warn(message, RuntimeWarning, stacklevel=3))

    def load(self) -> Optional[TokenSet]:
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return None
        with os.fdopen(fd, "r", encoding="utf-8") as handle:
            mode = os.fstat(fd).st_mode
            if mode & 0o077:
                os.fchmod(fd, 0o600)
                self._warn(f"latchkey: {self.path} was readable by other users; its mode is now 0600")
            text = handle.read()
        try:
            return TokenSet.from_json(json.loads(text))
        except ValueError as error:
            aside = f"{self.path}.corrupt-{int(time.time() * 1000)}"
            with contextlib.suppress(OSError):
                os.replace(self.path, aside)
            self._warn(f"latchkey: {self.path} is not a session ({error}); moved it to {aside}")
            return None

    def save(self, tokens: TokenSet) -> None:
        directory = os.path.dirname(self.path)
        os.makedirs(directory, mode=0o700, exist_ok=True)
        temporary = f"{self.path}.{os.getpid()}.{os.urandom(6).hex()}.tmp"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.fchmod(fd, 0o600)
            os.write(fd, (json.dumps(tokens.to_json()) + "\n").encode("utf-8"))
            os.fsync(fd)
            os.close(fd)
            fd = -1
            os.replace(temporary, self.path)
        except BaseException:
            if fd >= 0:
                os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
        _sync_directory(directory)

    def clear(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        lock_path = f"{self.path}.lock"
        os.makedirs(os.path.dirname(lock_path), mode=0o700, exist_ok=True)
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            deadline = time.monotonic() + self.lock_timeout
            delay = 0.005
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError as error:
                    if error.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                        raise
                if time.monotonic() >= deadline:
                    raise StoreLockTimeoutError(lock_path, self.lock_timeout)
                time.sleep(delay)
                delay = min(delay * 2, 0.05)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)


def _sync_directory(directory: str) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # not every file system can fsync a folder; the rename is still atomic
    finally:
        os.close(fd)
