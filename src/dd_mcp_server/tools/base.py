"""What every tool shares: the state it reads, and the wrapper that turns its dict into an MCP result.

A tool function takes `ctx: Context` plus its typed arguments and returns a plain dict. `as_tool`
maps every failure to `ToolError` (the only exception whose text reaches the model) and hands the
dict to `results.finish`, which makes it safe, keeps it within the budget and writes it out.
"""

from __future__ import annotations

import functools
import inspect
import logging
import re
import time
import traceback
import warnings
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar, get_args

import anyio
import anyio.to_thread
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.shared.exceptions import MCPDeprecationWarning
from mcp_types import CallToolResult, LoggingLevel, ToolAnnotations
from pydantic import Field

from dd_mcp_server.common.errors import InvalidArgument
from dd_mcp_server.common.text import clean_text, clip
from dd_mcp_server.common.timeparse import TimeArg, iso, time_window
from dd_mcp_server.config import Settings, app_url
from dd_mcp_server.services.datadog import (
    INLINE_BYTES,
    DatadogClient,
    DatadogError,
    call_fixes,
    call_watcher,
    next_cursor,
)
from dd_mcp_server.tools.results import RESUME, Form, ToolFunction, finish

log = logging.getLogger(__name__)

# {"readOnlyHint": true} alone says all the four hints said: by the MCP spec destructiveHint and
# idempotentHint mean something only when readOnlyHint is false, and openWorldHint is true unless
# said otherwise. Every tools/list would carry the rest 23 times (issue 13).
READ_ONLY = ToolAnnotations(read_only_hint=True)

ERROR_CHARS = 2000


@dataclass
class ToolState:
    """Created once per server process by the lifespan; every tool call reads it."""

    client: DatadogClient
    settings: Settings
    now: Callable[[], float] = field(default=time.time)
    client_log_level: LoggingLevel = "info"  # the least severe MCP log message sent; logging/setLevel changes it


def state(ctx: Context) -> ToolState:
    found = ctx.request_context.lifespan_context
    if not isinstance(found, ToolState):
        raise RuntimeError("the server's lifespan did not provide a ToolState")
    return found


def datadog(ctx: Context) -> DatadogClient:
    return state(ctx).client


def now(ctx: Context) -> float:
    return state(ctx).now()


def description(fn: ToolFunction) -> str:
    """The tool's docstring as the model reads it: dedented, wrapped lines joined, the example on its own line."""
    paragraphs = inspect.cleandoc(fn.__doc__ or "").split("\n\n")
    joined = [" ".join(line.strip() for line in p.splitlines()) for p in paragraphs]
    return "\n".join(joined).replace(" Example:", "\nE.g.")


def as_tool(fn: ToolFunction) -> Callable[..., Awaitable[CallToolResult]]:
    """Wrap a tool function: every failure becomes a ToolError, the dict a safe, budgeted result.

    The whole call, shaping included, runs within DD_MCP_DEADLINE; shaping an answer made from
    more than INLINE_BYTES of Datadog's runs in a worker thread, so that a huge answer never stalls
    the other calls.
    """

    @functools.wraps(fn)
    async def run(**kwargs: Any) -> CallToolResult:
        tool = state(kwargs["ctx"])
        fixes: Counter[str] = Counter()
        token = call_fixes.set(fixes)
        reporter = Reporter(kwargs["ctx"], tool)
        watching = call_watcher.set(reporter)
        cuts: list[int] = []
        try:
            with anyio.fail_after(tool.settings.deadline):
                data = await fn(**kwargs)
                budget = tool.settings.max_result_chars
                shape = functools.partial(finish, data, fixes, tool.client.redactor, budget, form_of(fn, tool), cuts)
                # Shaped from a few kilobytes, an answer takes less time than a worker thread's round trip.
                small = reporter.bytes <= INLINE_BYTES
                result = shape() if small else await anyio.to_thread.run_sync(shape, abandon_on_cancel=True)
                for size in cuts:
                    await reporter.tell(
                        "notice",
                        f"{fn.__name__}: a {size}-character answer was cut to the {budget}-character "
                        "budget (DD_MCP_MAX_RESULT_CHARS); it says how to get the rest",
                    )
                return result
        except TimeoutError:
            raise ToolError(
                f"{fn.__name__} did not finish within {tool.settings.deadline:g} s (DD_MCP_DEADLINE): Datadog is slow "
                "or not answering. Nothing is wrong with the arguments; try a smaller time window or limit, or later."
            ) from None
        except (DatadogError, InvalidArgument, ToolError) as exc:
            # Datadog's own text is quoted to the model, and it may echo what it was sent.
            raise ToolError(clip(tool.client.redactor.text(clean_text(str(exc))), ERROR_CHARS)) from None
        except Exception as exc:
            # Shaping met an answer that does not match Datadog's published schema. One line, no
            # traceback: a traceback would print Datadog's data (and anything in it) on stderr.
            log.warning(
                "tool %s could not read Datadog's answer: %s at %s", fn.__name__, type(exc).__name__, _where(exc)
            )
            raise ToolError(
                f"{fn.__name__}: Datadog's answer did not have the shape its API documents ({type(exc).__name__}), "
                "so it could not be read. Nothing is wrong with the arguments; try again, or use another tool for "
                "the same data."
            ) from None
        finally:
            call_watcher.reset(watching)
            call_fixes.reset(token)

    signature = inspect.signature(fn, eval_str=True)
    run.__signature__ = signature.replace(return_annotation=CallToolResult)  # type: ignore[attr-defined]
    return run


# MCP log levels, least severe first (RFC 5424's, as the spec names them).
LOG_LEVELS: tuple[LoggingLevel, ...] = get_args(LoggingLevel)


class Reporter:
    """Tells the MCP client how one call goes, as the spec provides: a progress notification each
    time Datadog answers (a call that pages or fans out shows it moves), and a log message when a
    request is retried or rate limited, or the answer is cut, so the host can show why it is slow
    or short. The client chooses: progress only when it sent a progress token, log messages at the
    level it set (logging/setLevel) or asked for on the request. Telling never fails the call.
    """

    def __init__(self, ctx: Context, tool: ToolState) -> None:
        self.ctx, self.tool, self.answers, self.bytes = ctx, tool, 0, 0

    async def answered(self, method: str, path: str, size: int) -> None:
        self.answers += 1
        self.bytes += size
        said = f"{self.answers} Datadog request{'s' * (self.answers > 1)} answered, the last {method} {path}"
        await self._safely(self.ctx.report_progress(self.answers, message=said))

    async def retrying(self, text: str) -> None:
        await self.tell("warning", f"Datadog: {text}")

    async def tell(self, level: LoggingLevel, text: str) -> None:
        if LOG_LEVELS.index(level) < LOG_LEVELS.index(self.tool.client_log_level):
            return
        session = self.ctx.request_context.session
        with warnings.catch_warnings():
            # Deprecated, not gone: 2026-07-28 keeps log messages for requests that opt in.
            warnings.simplefilter("ignore", MCPDeprecationWarning)
            sent = session.send_log_message(level, text, "dd-mcp-server", related_request_id=self.ctx.request_id)
        await self._safely(sent)

    @staticmethod
    async def _safely(sending: Awaitable[None]) -> None:
        """A client that went away or refuses a notification must not fail the call it is about."""
        try:
            await sending
        except Exception as exc:
            log.debug("could not tell the client: %s", type(exc).__name__)


def form_of(fn: ToolFunction, tool: ToolState) -> Form:
    """How `fn`'s results are written under the server's settings."""
    return Form(
        json=tool.settings.output == "json",
        listing=getattr(fn, "listing", None),
        app=app_url(tool.settings.site),
        narrow=getattr(fn, "narrow", None),
    )


def _where(exc: BaseException) -> str:
    """file:line of the innermost frame: enough to find the bug, without any of the data."""
    frames = traceback.extract_tb(exc.__traceback__)
    return f"{frames[-1].filename.rsplit('/', 1)[-1]}:{frames[-1].lineno}" if frames else "unknown"


# -- argument types shared by tools, so every tool describes them the same way ---------------------

# The shared vocabulary. Each term is explained once, in the server's instructions, and named in the
# descriptions of the arguments that use it ("A time: seen since"), which keeps tools/list small
# (issue 13). An error about such an argument spells the term out again (server.Argument.help).
TIME_HELP = (
    "A time is epoch seconds, ISO 8601 ('2026-11-24T09:30:00Z') or relative to now: "
    "'now', 'now-15m', 'now-2h', 'now-7d' (units s, m, h, d, w)."
)
CURSOR_HELP = (
    "A cursor pages through results: an answer with more to read has next_cursor; pass it as cursor, "
    "exactly as given, for the next page. Omit cursor for page 1."
)
SEARCH_HELP = (
    "Search syntax (the query of log, span, RUM and event searches) is Datadog's: "
    "'service:web status:error @http.status_code:500' (attributes start with @), wildcards "
    "('service:web-*'), ranges ('@duration:>1s'), AND, OR, NOT or -term, parentheses; '*' matches everything."
)
TAG_HELP = "A tag is key:value, e.g. 'env:prod'; an argument that takes several in one text says how to join them."
AGGREGATION_HELP = (
    "An aggregation is 'count' or a function of a measure: 'avg(@duration)', 'p95(@duration)', "
    "'cardinality(@usr.id)'; functions: count, cardinality, sum, min, max, avg, median, p50 to p99."
)
# Term -> its explanation. A description names a term when it contains it (any case) at a word start.
FIELDS_HELP = (
    "fields adds to a list's summary rows any field of the record as Datadog gives it, dotted: "
    "['query', '@http.url']; ['*'] adds every field."
)
VOCABULARY = {
    "a time": TIME_HELP,
    "cursor": CURSOR_HELP,
    "search syntax": SEARCH_HELP,
    "tag": TAG_HELP,
    "aggregation": AGGREGATION_HELP,
    "fields": FIELDS_HELP,
}

Start = Annotated[TimeArg, Field(description="A time")]
End = Annotated[TimeArg, Field(description="A time")]
Cursor = Annotated[str | None, Field(description="Cursor")]


Facet = Annotated[str, Field(min_length=1, max_length=200)]
# A tag value as Datadog writes it (letters, digits, _ - . /), so it reads as one term of a query.
TAG_VALUE = r"^[A-Za-z0-9][A-Za-z0-9_./\-]*$"
GroupLimit = Annotated[int, Field(ge=1, le=100, description="Groups per facet")]
# A dotted field of the record as Datadog gives it (`options.thresholds.critical`, `@http.url`), or `*`.
FieldName = Annotated[str, Field(max_length=200, pattern=r"^(\*|@?[A-Za-z0-9_\-]+(\.[A-Za-z0-9_\-]+){0,9})$")]
Fields = Annotated[
    list[FieldName] | None,
    Field(max_length=30, description="Fields"),
]


@dataclass(frozen=True)
class Position:
    """Where a page of search results starts: the cursor it is read with, its size, and how many of
    its rows an earlier answer already showed (the result budget cut that answer there).

    A Datadog cursor starts a page; this server's own cursor (`~rows~size~cursor`, never Datadog's
    base64) resumes inside one: the page is read again with the same size and the rows shown skipped.
    """

    cursor: str | None
    size: int
    skip: int = 0

    @classmethod
    def read(cls, cursor: str | None, limit: int) -> Position:
        ours = _RESUME.fullmatch(cursor or "")
        if ours:
            return cls(ours[3] or None, int(ours[2]), int(ours[1]))
        return cls(cursor or None, limit)

    def after(self, shown: int) -> str:
        """The cursor that resumes after the first `shown` rows of this answer."""
        return f"~{self.skip + shown}~{self.size}~{self.cursor or ''}"


_RESUME = re.compile(r"~([0-9]{1,4})~([0-9]{1,4})~(.*)", re.DOTALL)


def search_page(
    key: str, items: list[dict[str, Any]], payload: Any, start: int, end: int, at: Position
) -> dict[str, Any]:
    """One page of a v2 search from `at`: the window, the items under `key`, the next cursor when there is
    more, and how to resume inside the page when the budget cuts it."""
    page: dict[str, Any] = {"from": iso(start), "to": iso(end), key: items[at.skip :], RESUME: at.after}
    cursor = next_cursor(payload)
    if cursor:
        page["next_cursor"] = cursor
    return page


def resume_at(offset: int) -> dict[str, Callable[[int], str]]:
    """For an offset-paged list: the cursor that resumes after `shown` rows, if the budget cuts it."""
    return {RESUME: lambda shown: str(offset + shown)}


def offset_cursor(cursor: str | None) -> int:
    """Read a cursor this server issued for an offset-paged endpoint (a whole number as text)."""
    if cursor is None or cursor == "":
        return 0
    if not _OFFSET.fullmatch(cursor):
        raise InvalidArgument(
            "cursor", f"{cursor[:40]!r} is not a cursor this tool issued", "pass next_cursor as given"
        )
    return int(cursor)


# ASCII digits only ('²'.isdigit() is true), and few enough to stay a sane offset.
_OFFSET = re.compile(r"[0-9]{1,9}")


Group = tuple[dict[str, Any], dict[str, Any]]


def aggregate_groups(payload: Any) -> list[Group]:
    """Each group of a logs or spans aggregate answer as (its facet values, its computes c0, c1...):
    logs keep them in `data.buckets[].{by, computes}`, spans in `data[].attributes.{by, compute}`."""
    data = payload.get("data") if isinstance(payload, dict) else None
    if isinstance(data, dict):
        buckets = [b for b in data.get("buckets") or [] if isinstance(b, dict)]
        return [(b.get("by") or {}, b.get("computes") or {}) for b in buckets]
    spans = [b.get("attributes") for b in data or [] if isinstance(b, dict)]
    return [(b.get("by") or {}, b.get("compute") or {}) for b in spans if isinstance(b, dict)]


K = TypeVar("K")
V = TypeVar("V")


async def gather(reads: Mapping[K, Awaitable[V]]) -> dict[K, V]:
    """Await every read at once, their results under the same keys: an answer composed of several
    requests takes about as long as its slowest one. The first failure cancels the others and is
    raised as itself (a DatadogError keeps its message, not wrapped in a group)."""
    results: dict[K, V] = {}
    failures: list[Exception] = []
    async with anyio.create_task_group() as group:

        async def read(key: K, awaitable: Awaitable[V]) -> None:
            try:
                results[key] = await awaitable
            except Exception as exc:
                failures.append(exc)
                group.cancel_scope.cancel()

        for key, awaitable in reads.items():
            group.start_soon(read, key, awaitable)
    if failures:
        raise failures[0]
    return {key: results[key] for key in reads}


def window(ctx: Context, start: TimeArg, end: TimeArg, default_span: int = 3600) -> tuple[int, int]:
    """The call's time window in epoch seconds, read against this server's clock."""
    return time_window(start, end, now=now(ctx), default_span=default_span)
