"""The trail writer: an append-only JSON Lines file an auditor can trust was not altered afterwards.

Each record is chained to the one before it (see chain.py); a file's first record is a `chain`
record that starts from a random seed written in it, or, after a size rotation, from the last hash
of the file it continues. Several server processes may append to one path: each append happens
whole, under a file lock, after reading the hash to chain from at the end of the file, so the
processes write one chain. Recording never breaks a call: a failed append is counted, warned about
once, and marked by a `gap` record when appending works again, so `audit verify` shows where
records are missing. The path comes from DD_MCP_AUDIT_LOG, read by the server, not here.
"""

from __future__ import annotations

import errno
import itertools
import json
import logging
import os
import secrets
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dd_mcp_server.audit.chain import line, parse, seal

if TYPE_CHECKING:
    from filelock import BaseFileLock

    from dd_mcp_server.audit.sink import LogsSink

log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 50 * 1024 * 1024
# How long an append waits for another process's append before counting its record as lost.
LOCK_TIMEOUT = 10.0
TAIL_CHUNK = 4096


class AuditError(Exception):
    """The trail cannot be written where it was asked to be: the server must not start."""


class Trail:
    """An open trail file; `append` is safe from any thread and any number of processes."""

    def __init__(
        self, path: Path, max_bytes: int, file_lock: BaseFileLock, fd: int, sink: LogsSink | None = None
    ) -> None:
        self.path = path
        self.sink = sink
        self.max_bytes = max_bytes
        self.file_lock = file_lock
        self.fd = fd
        self.thread_lock = threading.Lock()
        self.lost = 0
        self.warned = False

    @classmethod
    def open(cls, path: Path, max_bytes: int = DEFAULT_MAX_BYTES, sink: LogsSink | None = None) -> Trail:
        """Create the folder (0700) and the file (0600) if missing; AuditError if they cannot be written.
        With `sink`, every record written is also shipped there (DD_MCP_AUDIT_SINK)."""
        from filelock import FileLock

        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            file_lock = FileLock(str(path) + ".lock", timeout=LOCK_TIMEOUT, mode=0o600)
            with file_lock:
                fd = open_for_append(path)
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            if exc.filename and str(exc.filename) != str(path):
                reason = f"{exc.filename}: {reason}"
            raise AuditError(
                f"cannot write the audit trail {path}: {reason}; choose a file this user can create and write"
            ) from None
        return cls(path, max_bytes, file_lock, fd, sink)

    def append(self, record: dict[str, Any]) -> None:
        """Seal and write `record` (plus `time` if absent); never raises, a failure is counted as lost."""
        with self.thread_lock:
            try:
                plain = json.loads(json.dumps(record, default=str))
                with self.file_lock:
                    self.write(plain)
            except (OSError, ValueError, TypeError, RecursionError) as exc:
                self.lost += 1
                self.warn_once(exc)

    def close(self) -> None:
        with self.thread_lock:
            os.close(self.fd)
        if self.sink:
            self.sink.close()

    def write(self, record: dict[str, Any]) -> None:
        """Under the file lock: chain the record after the file's last one, rotating first if it is full."""
        entry = {"time": utc_now(), **record}
        self.follow()
        size, prev = self.tail()
        if prev is not None and size + len(line({**entry, "prev": prev, "hash": prev})) > self.max_bytes:
            prev = self.rotate(prev)
        if prev is None:
            prev = self.put({"event": "chain", "seed": (seed := secrets.token_hex(32))}, seed)
        if self.lost:
            prev = self.put({"event": "gap", "lost": self.lost}, prev)
            self.lost = 0
        self.put(entry, prev)

    def follow(self) -> None:
        """Reopen the path if another process rotated the file, or someone removed it, since our last append."""
        try:
            same = os.path.samestat(os.fstat(self.fd), os.stat(self.path))
        except FileNotFoundError:
            same = False
        if not same:
            fd = open_for_append(self.path)
            os.close(self.fd)
            self.fd = fd

    def tail(self) -> tuple[int, str | None]:
        """The file's size and its last record's hash; a cut-short last line is ended first so nothing joins it."""
        size = os.fstat(self.fd).st_size
        if size and os.pread(self.fd, 1, size - 1) != b"\n":
            self.write_line(b"\n")
            size += 1
        return size, last_hash(self.fd, size)

    def rotate(self, prev: str) -> str:
        """Move the full file aside and start the next one with a record chaining it to the last one."""
        target = rotated_path(self.path)
        os.rename(self.path, target)
        self.follow()
        return self.put({"event": "chain", "continues": target.name}, prev)

    def put(self, record: dict[str, Any], prev: str) -> str:
        """Write `record` chained after `prev`; its hash."""
        sealed = {"time": utc_now(), **record, "prev": prev}
        sealed["hash"] = digest = seal(sealed)
        self.write_line(line(sealed))
        if self.sink:
            self.sink.put(sealed)
        return digest

    def write_line(self, data: bytes) -> None:
        """One os.write; a short one (the disk filled) is undone so no partial line stays behind."""
        size = os.fstat(self.fd).st_size
        if os.write(self.fd, data) != len(data):
            os.ftruncate(self.fd, size)
            raise OSError(errno.ENOSPC, "short write")

    def warn_once(self, exc: Exception) -> None:
        """One stderr line for the first failure: the path and the errno's name, never the record."""
        if not self.warned:
            self.warned = True
            code = exc.errno if isinstance(exc, OSError) else None
            reason = errno.errorcode.get(code, type(exc).__name__) if code else type(exc).__name__
            log.warning(
                "audit trail %s: recording failed (%s); calls still answer, a gap record marks it",
                self.path,
                reason,
            )


def open_for_append(path: Path) -> int:
    """Read-write so the tail is read from the very file the next line goes to; created owner-only."""
    return os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)


def last_hash(fd: int, size: int) -> str | None:
    """The hash of the last record in the file, reading back from the end in growing chunks; None if none."""
    span = TAIL_CHUNK
    while True:
        start = max(0, size - span)
        lines = os.pread(fd, size - start, start).split(b"\n")
        for raw in reversed(lines[1:] if start else lines):
            record = parse(raw)
            if record is not None:
                return str(record["hash"])
        if start == 0:
            return None
        span *= 4


def rotated_path(path: Path) -> Path:
    """PATH.<UTC time to the microsecond>, sorting in order of rotation; never an existing file."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    suffixes = itertools.chain([""], (f"-{n}" for n in itertools.count(1)))
    return next(name for name in (path.with_name(f"{path.name}.{stamp}{s}") for s in suffixes) if not name.exists())


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
