"""Properties of strip_metadata and drop_empty over arbitrary JSON."""

from __future__ import annotations

import copy
import string
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from dd_mcp_server.common.strip import NOISE_KEYS, drop_empty, strip_metadata

PLAIN_KEYS = st.text(string.ascii_letters + "_-.@", min_size=0, max_size=10).filter(lambda k: k not in NOISE_KEYS)
KEYS = st.one_of(st.sampled_from(sorted(NOISE_KEYS)), PLAIN_KEYS)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=12),
    # Values that merely look like noise must stay: only keys are stripped.
    st.sampled_from(sorted(NOISE_KEYS)),
)


def json_values(keys: st.SearchStrategy[str]) -> st.SearchStrategy[Any]:
    return st.recursive(
        SCALARS,
        lambda children: st.lists(children, max_size=5) | st.dictionaries(keys, children, max_size=6),
        max_leaves=40,
    )


JSON = json_values(KEYS)
CLEAN_JSON = json_values(PLAIN_KEYS)
# Empty values are common here, so drop_empty has something to drop at every depth.
EMPTY_PRONE: st.SearchStrategy[Any] = st.recursive(
    st.sampled_from([None, "", 0, False, "x", 0.0]) | st.just([]) | st.just({}),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.sampled_from("abcde"), children, max_size=5),
    max_leaves=30,
)


def keys_anywhere(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in keys_anywhere(v)}
    if isinstance(value, list):
        return {k for item in value for k in keys_anywhere(item)}
    return set()


def same(a: Any, b: Any) -> bool:
    """Equal and of the same types throughout (so True is not 1, and 1 is not 1.0)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def stripped_from(out: Any, original: Any, keys: frozenset[str]) -> bool:
    """`out` is `original` with the entries under `keys` removed from every dict, and nothing else changed."""
    if isinstance(original, dict):
        if not isinstance(out, dict) or list(out) != [k for k in original if k not in keys]:
            return False
        return all(stripped_from(out[k], original[k], keys) for k in out)
    if isinstance(original, list):
        return (
            isinstance(out, list)
            and len(out) == len(original)
            and all(stripped_from(o, v, keys) for o, v in zip(out, original, strict=True))
        )
    return same(out, original)


@given(JSON)
def test_no_noise_key_survives_at_any_depth(value: Any) -> None:
    assert not keys_anywhere(strip_metadata(value)) & NOISE_KEYS


@given(JSON)
def test_only_noise_entries_are_removed(value: Any) -> None:
    assert stripped_from(strip_metadata(value), value, NOISE_KEYS)


@given(CLEAN_JSON)
def test_a_value_without_noise_comes_back_equal(value: Any) -> None:
    assert same(strip_metadata(value), value)


@given(JSON)
def test_stripping_is_idempotent(value: Any) -> None:
    once = strip_metadata(value)
    assert same(strip_metadata(once), once)


@given(JSON)
def test_stripping_does_not_change_the_input(value: Any) -> None:
    before = copy.deepcopy(value)
    stripped = strip_metadata(value)
    assert same(value, before)
    # The answer is a copy: changing it leaves the input alone.
    if isinstance(stripped, dict):
        stripped["added"] = 1
        stripped.clear()
    elif isinstance(stripped, list):
        stripped.append(1)
        stripped.clear()
    assert same(value, before)


@given(JSON, st.frozensets(KEYS, max_size=3))
def test_other_key_sets_are_stripped_the_same_way(value: Any, keys: frozenset[str]) -> None:
    out = strip_metadata(value, keys)
    assert not keys_anywhere(out) & keys
    assert stripped_from(out, value, keys)


def test_a_monitor_loses_its_noise_at_every_depth() -> None:
    monitor = {
        "id": 1,
        "name": "CPU",
        "creator": {"handle": "a@b.c"},
        "org_id": 2,
        "deleted": None,
        "modified": "2026-01-01",
        "restricted_roles": None,
        "matching_downtimes": [],
        "state": {"groups": {"host:a": {"status": "Alert", "creator": "x"}}},
        "tags": ["creator", "org_id"],
    }
    assert strip_metadata(monitor) == {
        "id": 1,
        "name": "CPU",
        "state": {"groups": {"host:a": {"status": "Alert"}}},
        "tags": ["creator", "org_id"],
    }


# -- drop_empty ----------------------------------------------------------------------------------


def is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str | list | dict) and len(value) == 0)


def empty_dict_value_anywhere(value: Any) -> bool:
    if isinstance(value, dict):
        return any(is_empty(v) or empty_dict_value_anywhere(v) for v in value.values())
    if isinstance(value, list):
        return any(empty_dict_value_anywhere(item) for item in value)
    return False


def empty_once_cleaned(value: Any) -> bool:
    """Whether drop_empty should remove this dict value: empty itself, or a dict of such values only."""
    if isinstance(value, dict):
        return all(empty_once_cleaned(v) for v in value.values())
    return is_empty(value)


def cleaned_from(out: Any, original: Any) -> bool:
    """`out` is `original` less the dict entries that are empty once cleaned, and nothing else changed."""
    if isinstance(original, dict):
        if not isinstance(out, dict) or list(out) != [k for k, v in original.items() if not empty_once_cleaned(v)]:
            return False
        return all(cleaned_from(out[k], original[k]) for k in out)
    if isinstance(original, list):
        return (
            isinstance(out, list)
            and len(out) == len(original)
            and all(cleaned_from(o, v) for o, v in zip(out, original, strict=True))
        )
    return same(out, original)


@given(st.one_of(EMPTY_PRONE, JSON))
def test_drop_empty_leaves_no_empty_dict_value_at_any_depth(value: Any) -> None:
    assert not empty_dict_value_anywhere(drop_empty(value))


@given(st.one_of(EMPTY_PRONE, JSON))
def test_drop_empty_removes_only_empty_entries(value: Any) -> None:
    before = copy.deepcopy(value)
    out = drop_empty(value)
    assert cleaned_from(out, value)
    assert same(drop_empty(out), out)
    assert same(value, before)


@given(st.one_of(EMPTY_PRONE, JSON))
def test_data_without_empty_dict_values_is_kept_whole(value: Any) -> None:
    if not empty_dict_value_anywhere(value):
        assert same(drop_empty(value), value)


def test_drop_empty_keeps_zero_false_and_list_items() -> None:
    value = {"a": 0, "b": False, "c": 0.0, "d": [None, "", [], {}], "e": {"f": {"g": None}}, "h": " ", "i": None}
    assert drop_empty(value) == {"a": 0, "b": False, "c": 0.0, "d": [None, "", [], {}], "h": " "}
