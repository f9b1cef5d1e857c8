"""The trail checker behind `dd-mcp-server audit verify`: is the trail exactly as it was written?

An auditor hands it every file of a trail (the current one and its rotated predecessors, in any
order). It follows each chain across the files by their links and names, by file and line, every
place the chain breaks: an edited record, a record deleted, inserted or moved, a missing or cut
file between rotations, a line cut short, a line that is not a record, and the gaps the writer
marked where it could not record. Deleting the newest records of the newest file leaves no break:
ship the trail elsewhere as it is written (a log store) to cover that.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dd_mcp_server.audit.chain import line, parse, seal


@dataclass
class FileCheck:
    """What one file says: its problems, its record count, its opening chain record and last hash."""

    path: Path
    problems: list[str] = field(default_factory=list)
    records: int = 0
    continues: tuple[int, str, str] | None = None  # line, the file it names, the hash it chains from
    last_hash: str | None = None


@dataclass
class Verdict:
    records: int
    files: int
    problems: list[str]


def verify(paths: list[Path]) -> list[str]:
    """Every break in the chains across `paths`, each naming the file and line; empty when intact."""
    return check(paths).problems


def check(paths: list[Path]) -> Verdict:
    files = in_chain_order([check_file(path) for path in paths])
    problems = [problem for file in files for problem in file.problems] + link_problems(files)
    return Verdict(sum(file.records for file in files), len(files), problems)


def check_file(path: Path) -> FileCheck:
    """The file's records one by one, each against its own hash and the record before it."""
    result = FileCheck(path)
    try:
        *lines, rest = path.read_bytes().split(b"\n")
    except OSError as exc:
        result.problems.append(f"{path}: cannot be read: {exc.strerror}")
        return result
    records = [(number, record) for number, raw in enumerate(lines, 1) if (record := parse(raw)) is not None]
    first_seen: dict[str, int] = {}
    for number, record in reversed(records):
        first_seen[record["hash"]] = number
    previous: tuple[int, str] | None = None
    by_line = dict(records)
    for number, raw in enumerate(lines, 1):
        record = by_line.get(number)
        if record is None:
            result.problems.append(f"{path} line {number}: not a trail record (not JSON, or no hash and prev)")
            continue
        found = record_problem(number, record, raw, first_seen)
        if found is None and previous is None:
            found = opening_problem(number, record, result)
        elif found is None and previous is not None:
            found = link_problem(number, record["prev"], previous, first_seen)
        gap = f"{record.get('lost')} records lost (disk full or write error)" if record.get("event") == "gap" else None
        result.problems += [f"{path} line {number}: {problem}" for problem in (found, gap) if problem]
        previous = (number, record["hash"])
    if rest:
        result.problems.append(f"{path} line {len(lines) + 1}: cut short (no newline at the end): an append was cut")
    result.records = len(records)
    result.last_hash = previous[1] if previous else None
    return result


def record_problem(number: int, record: dict[str, Any], raw: bytes, first_seen: dict[str, int]) -> str | None:
    """What is wrong with the record on its own: edited, or a copy of another."""
    if seal(record) != record["hash"]:
        return "hash does not match its content: the record was edited"
    if line(record) != raw + b"\n":
        return "its values match its hash but its text was altered"
    if first_seen[record["hash"]] != number:
        return f"repeats line {first_seen[record['hash']]}: a copy was inserted"
    return None


def opening_problem(number: int, record: dict[str, Any], result: FileCheck) -> str | None:
    """The file's first record must be a chain record: from its own seed, or continuing another file."""
    if record.get("event") != "chain":
        return "the file does not begin with a chain record: records at its beginning were deleted"
    if isinstance(record.get("continues"), str):
        result.continues = (number, record["continues"], record["prev"])
        return None
    if record["prev"] != record.get("seed"):
        return "prev is not the seed written in the chain record"
    return None


def link_problem(number: int, prev: str, previous: tuple[int, str], first_seen: dict[str, int]) -> str | None:
    """Whether `prev` is the hash of the record before; if not, what the break looks like."""
    before, before_hash = previous
    if prev == before_hash:
        return None
    mismatch = f"prev does not match line {before}'s hash"
    source = first_seen.get(prev)
    if source is None or source == number:
        return f"{mismatch}: a record before it was deleted or edited"
    if source > number:
        return f"{mismatch}: it follows line {source}, further down: records were reordered"
    moved = f"line {before} was" if source + 1 == before else f"lines {source + 1} to {before} were"
    return f"{mismatch}: it follows line {source}, so {moved} inserted or moved here"


def in_chain_order(files: list[FileCheck]) -> list[FileCheck]:
    """Each chain from its first file through the files continuing it; files in a broken link start anew."""
    by_last_hash = {file.last_hash: file for file in files if file.last_hash}
    successor: dict[Path, FileCheck] = {}
    starts = []
    for file in files:
        before = by_last_hash.get(file.continues[2]) if file.continues else None
        if before is None or before.path in successor:
            starts.append(file)
        else:
            successor[before.path] = file
    ordered: list[FileCheck] = []
    for start in starts:
        follower: FileCheck | None = start
        while follower is not None and follower not in ordered:
            ordered.append(follower)
            follower = successor.get(follower.path)
    return ordered + [file for file in files if file not in ordered]


def link_problems(files: list[FileCheck]) -> list[str]:
    """A continuing file whose first record does not chain from the last record of any file given."""
    last_hashes = {file.last_hash for file in files}
    by_name = {file.path.name: file for file in files}
    problems = []
    for file in files:
        if file.continues is None or file.continues[2] in last_hashes:
            continue
        number, name, _ = file.continues
        named = by_name.get(name)
        where = f"{file.path} line {number}"
        if named is None:
            problems.append(f"{where}: continues {name}, which is not among the files given or was removed")
        else:
            problems.append(
                f"{where}: prev does not match the last record of {named.path}: "
                "records at its end were deleted, or a file between them is missing"
            )
    return problems
