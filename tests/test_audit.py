"""The audit trail as an auditor relies on it: written owner-only, one chain across rotations and
processes, never breaking a call when the disk fails, and `audit verify` naming the exact line of
every edit, deletion, insertion, move, cut or gap."""

from __future__ import annotations

import errno
import hashlib
import itertools
import json
import logging
import os
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dd_mcp_server.audit.chain import line, seal
from dd_mcp_server.audit.trail import AuditError, Trail
from dd_mcp_server.audit.verify import verify
from tests.conftest import REPORTS, clean_env, console_script


def written(path: Path, count: int = 10, max_bytes: int = 50 * 1024 * 1024) -> Path:
    trail = Trail.open(path, max_bytes=max_bytes)
    for n in range(count):
        trail.append({"event": "call", "n": n, "tool": "search_logs", "text": "déjà vu ✓"})
    trail.close()
    return path


def lines_of(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines(keepends=True)


def rewrite(path: Path, lines: list[bytes]) -> None:
    path.write_bytes(b"".join(lines))


def forged(after: bytes, **values: Any) -> bytes:
    """A record a forger who knows the format would insert: correctly chained after `after`, correctly hashed."""
    record: dict[str, Any] = {**values, "prev": json.loads(after)["hash"]}
    record["hash"] = seal(record)
    return line(record)


def test_a_written_trail_verifies_and_starts_from_its_seed(tmp_path: Path) -> None:
    path = written(tmp_path / "audit.jsonl")
    records = [json.loads(raw) for raw in lines_of(path)]
    assert verify([path]) == []
    assert len(records) == 11
    assert records[0]["event"] == "chain"
    assert records[0]["prev"] == records[0]["seed"]
    assert len(records[0]["seed"]) == 64
    assert [r["prev"] for r in records[1:]] == [r["hash"] for r in records[:-1]]
    for record in records:  # the documented recipe, so any other verifier can check the trail
        body = {k: v for k, v in record.items() if k != "hash"}
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert record["hash"] == hashlib.sha256(canonical.encode()).hexdigest()
    assert records[1]["time"].endswith("Z")
    assert len(records[1]["time"]) == len("2026-11-24T12:00:00.000Z")
    assert "déjà vu ✓" in path.read_text("utf-8")


def test_reopening_continues_the_same_chain(tmp_path: Path) -> None:
    path = written(tmp_path / "audit.jsonl", count=3)
    written(path, count=3)
    assert verify([path]) == []
    assert sum(b'"event":"chain"' in raw for raw in lines_of(path)) == 1


def test_an_edited_record_is_named(tmp_path: Path) -> None:
    path = written(tmp_path / "audit.jsonl")
    lines = lines_of(path)
    lines[4] = lines[4].replace(b'"n":3', b'"n":4')
    rewrite(path, lines)
    assert verify([path]) == [f"{path} line 5: hash does not match its content: the record was edited"]


def test_an_edited_record_with_its_hash_recomputed_breaks_the_next_line(tmp_path: Path) -> None:
    path = written(tmp_path / "audit.jsonl")
    lines = lines_of(path)
    record = json.loads(lines[4])
    record["tool"] = "nothing to see"
    record["hash"] = seal(record)
    lines[4] = line(record)
    rewrite(path, lines)
    assert verify([path]) == [
        f"{path} line 6: prev does not match line 5's hash: a record before it was deleted or edited"
    ]


def test_a_reformatted_record_with_equal_values_is_named(tmp_path: Path) -> None:
    path = written(tmp_path / "audit.jsonl")
    lines = lines_of(path)
    lines[2] = lines[2].replace(b'"n":1,', b'"n": 1,')
    rewrite(path, lines)
    assert verify([path]) == [f"{path} line 3: its values match its hash but its text was altered"]


def test_a_deleted_record_is_named(tmp_path: Path) -> None:
    path = written(tmp_path / "audit.jsonl")
    lines = lines_of(path)
    del lines[6]
    rewrite(path, lines)
    assert verify([path]) == [
        f"{path} line 7: prev does not match line 6's hash: a record before it was deleted or edited"
    ]


def test_reordered_records_are_named_at_the_first_moved_line(tmp_path: Path) -> None:
    path = written(tmp_path / "audit.jsonl")
    lines = lines_of(path)
    lines[4], lines[5] = lines[5], lines[4]
    rewrite(path, lines)
    problems = verify([path])
    assert problems[0] == (
        f"{path} line 5: prev does not match line 4's hash: it follows line 6, further down: records were reordered"
    )
    assert len(problems) == 3


def test_an_inserted_record_is_named(tmp_path: Path) -> None:
    path = written(tmp_path / "audit.jsonl")
    lines = lines_of(path)
    lines.insert(5, forged(lines[4], event="call", tool="never called"))
    rewrite(path, lines)
    assert verify([path]) == [
        f"{path} line 7: prev does not match line 6's hash: it follows line 5, so line 6 was inserted or moved here"
    ]


def test_a_copied_record_inserted_is_named(tmp_path: Path) -> None:
    path = written(tmp_path / "audit.jsonl")
    lines = lines_of(path)
    lines.insert(8, lines[2])
    rewrite(path, lines)
    assert verify([path]) == [
        f"{path} line 9: repeats line 3: a copy was inserted",
        f"{path} line 10: prev does not match line 9's hash: it follows line 8, so line 9 was inserted or moved here",
    ]


def test_records_deleted_at_the_beginning_are_named(tmp_path: Path) -> None:
    path = written(tmp_path / "audit.jsonl")
    rewrite(path, lines_of(path)[2:])
    assert verify([path]) == [
        f"{path} line 1: the file does not begin with a chain record: records at its beginning were deleted"
    ]


def test_a_cut_last_line_and_a_line_that_is_no_record_are_named(tmp_path: Path) -> None:
    path = written(tmp_path / "audit.jsonl")
    lines = lines_of(path)
    lines[3] = b"not json\n"
    lines[-1] = lines[-1][:40]
    rewrite(path, lines)
    assert verify([path]) == [
        f"{path} line 4: not a trail record (not JSON, or no hash and prev)",
        f"{path} line 5: prev does not match line 3's hash: a record before it was deleted or edited",
        f"{path} line 11: cut short (no newline at the end): an append was cut",
    ]


def test_the_writer_ends_a_cut_line_before_appending(tmp_path: Path) -> None:
    path = written(tmp_path / "audit.jsonl", count=3)
    with path.open("ab") as file:
        file.write(b'{"time":"2026')
    written(path, count=2)
    assert verify([path]) == [f"{path} line 5: not a trail record (not JSON, or no hash and prev)"]


def rotated(tmp_path: Path) -> list[Path]:
    """A trail rotated several times: its files, oldest first."""
    path = written(tmp_path / "audit.jsonl", count=40, max_bytes=1500)
    return [*sorted(tmp_path.glob("audit.jsonl.2*")), path]


def test_rotation_continues_the_chain_in_every_file(tmp_path: Path) -> None:
    files = rotated(tmp_path)
    assert len(files) >= 4
    assert all(path.stat().st_size <= 1500 for path in files)
    assert verify(list(reversed(files))) == []
    for before, after in itertools.pairwise(files):
        opening = json.loads(lines_of(after)[0])
        assert opening["continues"] == before.name
        assert opening["prev"] == json.loads(lines_of(before)[-1])["hash"]
    assert sum(len(lines_of(path)) for path in files) == 40 + len(files)


def test_a_missing_file_between_rotations_is_named(tmp_path: Path) -> None:
    files = rotated(tmp_path)
    gone = files.pop(1)
    gone.unlink()
    assert verify(files) == [
        f"{files[1]} line 1: continues {gone.name}, which is not among the files given or was removed"
    ]


def test_records_cut_from_the_end_of_a_rotated_file_are_named(tmp_path: Path) -> None:
    files = rotated(tmp_path)
    rewrite(files[1], lines_of(files[1])[:-1])
    assert verify(files) == [
        f"{files[2]} line 1: prev does not match the last record of {files[1]}: "
        "records at its end were deleted, or a file between them is missing"
    ]


def test_created_owner_only(tmp_path: Path) -> None:
    path = written(tmp_path / "new" / "audit.jsonl", count=1)
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.parametrize("where", ["a directory", "under a file"])
def test_an_unwritable_path_refuses_with_one_line(tmp_path: Path, where: str) -> None:
    # (A read-only folder cannot be tested here: CI runs as root, who writes anyway.)
    if where == "a directory":
        path = tmp_path / "audit.jsonl"
        path.mkdir()
    else:
        (tmp_path / "file").write_text("")
        path = tmp_path / "file" / "audit.jsonl"
    with pytest.raises(AuditError) as refused:
        Trail.open(path)
    message = str(refused.value)
    assert "\n" not in message
    assert str(path) in message
    assert "choose a file this user can create and write" in message


def test_a_path_under_a_file_refuses(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(AuditError, match=f"{tmp_path / 'file'}: File exists"):
        Trail.open(tmp_path / "file" / "audit.jsonl")


def test_a_full_disk_never_breaks_a_call_warns_once_and_leaves_a_gap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "audit.jsonl"
    trail = Trail.open(path)
    real_write = os.write
    full = False

    def write(fd: int, data: bytes) -> int:
        if full and fd == trail.fd:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", write)
    for n in range(9):
        full = 3 <= n < 6
        with caplog.at_level(logging.WARNING):
            trail.append({"event": "call", "n": n, "secret": "do not log me"})
    trail.close()
    warnings = [r.getMessage() for r in caplog.records if r.name == "dd_mcp_server.audit.trail"]
    assert warnings == [f"audit trail {path}: recording failed (ENOSPC); calls still answer, a gap record marks it"]
    records = [json.loads(raw) for raw in lines_of(path)]
    assert [r.get("n", r.get("lost")) for r in records[1:]] == [0, 1, 2, 3, 6, 7, 8]
    assert records[4]["event"] == "gap"
    assert verify([path]) == [f"{path} line 5: 3 records lost (disk full or write error)"]


def test_a_short_write_leaves_no_partial_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "audit.jsonl"
    trail = Trail.open(path)
    trail.append({"n": 0})
    real_write = os.write
    monkeypatch.setattr(os, "write", lambda fd, data: real_write(fd, data[:10] if fd == trail.fd else data))
    trail.append({"n": 1})
    monkeypatch.setattr(os, "write", real_write)
    trail.append({"n": 2})
    assert verify([path]) == [f"{path} line 3: 1 records lost (disk full or write error)"]


def test_a_removed_file_is_recreated_as_a_new_chain(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    trail = Trail.open(path)
    trail.append({"n": 0})
    path.unlink()
    trail.append({"n": 1})
    assert verify([path]) == []
    assert [json.loads(raw).get("event") for raw in lines_of(path)] == ["chain", None]


APPENDER = """
import sys
from pathlib import Path
from dd_mcp_server.audit.trail import Trail
trail = Trail.open(Path(sys.argv[1]), max_bytes=int(sys.argv[2]))
for n in range(200):
    trail.append({"event": "call", "writer": sys.argv[3], "n": n, "text": "x" * (n % 50)})
"""


@pytest.mark.parametrize("max_bytes", [50 * 1024 * 1024, 8000])
def test_two_processes_append_one_intact_chain(tmp_path: Path, max_bytes: int) -> None:
    path = tmp_path / "audit.jsonl"
    started = time.monotonic()
    writers = [
        subprocess.Popen([sys.executable, "-c", APPENDER, str(path), str(max_bytes), name], env=clean_env())
        for name in ("a", "b")
    ]
    assert [writer.wait(timeout=60) for writer in writers] == [0, 0]
    seconds = time.monotonic() - started
    files = [path, *tmp_path.glob("audit.jsonl.2*")]
    REPORTS.setdefault("audit trail: two processes x 200 appends", []).append(
        f"max_bytes {max_bytes}: {seconds:.2f} s, {len(files)} files"
    )
    assert verify(files) == []
    records = [json.loads(raw) for file in files for raw in lines_of(file)]
    calls = [(r["writer"], r["n"]) for r in records if r.get("event") == "call"]
    assert sorted(calls) == sorted((name, n) for name in "ab" for n in range(200))
    assert len({r["hash"] for r in records}) == len(records) >= 401


def cli(*paths: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [console_script(), "audit", "verify", *map(str, paths)],
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=30,
    )


@pytest.mark.stdio
def test_the_command_exits_0_when_intact_and_1_naming_the_break(tmp_path: Path) -> None:
    files = rotated(tmp_path)
    intact = cli(*files)
    assert (intact.returncode, intact.stderr) == (0, "")
    assert intact.stdout == f"ok: {40 + len(files)} records in {len(files)} files, chain intact\n"
    lines = lines_of(files[1])
    del lines[1]
    rewrite(files[1], lines)
    broken = cli(*files)
    assert broken.returncode == 1
    assert broken.stdout == (
        f"{files[1]} line 2: prev does not match line 1's hash: a record before it was deleted or edited\n"
    )


@pytest.mark.stdio
def test_the_command_exits_2_on_usage_errors(tmp_path: Path) -> None:
    missing = cli(tmp_path / "nowhere.jsonl")
    assert missing.returncode == 2
    assert "not a file" in missing.stderr
    no_paths = cli()
    assert no_paths.returncode == 2
    assert "PATH" in no_paths.stderr


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(),
    st.text(alphabet=st.characters() | st.characters(categories=["Cs"])),  # lone surrogates too
)
records = st.lists(st.dictionaries(st.text(max_size=8), scalars, max_size=5), min_size=1, max_size=6)


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(records=records, data=st.data())
def test_any_records_verify_and_any_changed_byte_is_named(
    tmp_path_factory: pytest.TempPathFactory, records: list[dict[str, Any]], data: st.DataObject
) -> None:
    path = tmp_path_factory.mktemp("trail") / "audit.jsonl"
    trail = Trail.open(path)
    for record in records:
        trail.append(record)
    trail.close()
    assert verify([path]) == []
    lines = lines_of(path)
    index = data.draw(st.integers(0, len(lines) - 1), label="line")
    position = data.draw(st.integers(0, len(lines[index]) - 2), label="byte")
    old = lines[index][position]
    new = data.draw(st.integers(0, 255).filter(lambda b: b != old), label="new byte")
    lines[index] = lines[index][:position] + bytes([new]) + lines[index][position + 1 :]
    rewrite(path, lines)
    problems = verify([path])
    assert problems
    assert problems[0].startswith(f"{path} line {index + 1}")
