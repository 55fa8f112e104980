"""The typed methods match spec/actions.json: every action, every field."""

from __future__ import annotations

import importlib.util
import inspect
import json
import re
import sys
from pathlib import Path
from typing import Any, Set, Tuple

import pytest

import tcsms

from conftest import REPO

SPEC = json.loads((REPO / "spec" / "actions.json").read_text(encoding="utf-8"))
ACTIONS = SPEC["actions"]


def snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def test_nineteen_actions() -> None:
    assert len(ACTIONS) == 19
    assert list(tcsms.ACTIONS) == [a["name"] for a in ACTIONS]


@pytest.mark.parametrize("action", ACTIONS, ids=[a["name"] for a in ACTIONS])
def test_method_has_every_field(action: dict) -> None:
    method = getattr(tcsms.Client, snake(action["name"]), None)
    assert method is not None, f"tcsms.Client has no method for {action['name']}"
    params = inspect.signature(method).parameters
    expected = {snake(f["name"]) for f in action["request_fields"]}
    got = set(params) - {"self", "timeout"}
    assert got == expected, f"{action['name']}: missing {expected - got}, extra {got - expected}"
    for field in action["request_fields"]:
        p = params[snake(field["name"])]
        if field["required"] == "yes":
            assert p.default is inspect.Parameter.empty, f"{field['name']} should be required"
        else:
            assert p.default is None, f"{field['name']} should default to None"
    assert params["timeout"].kind is inspect.Parameter.KEYWORD_ONLY
    assert params["timeout"].default is None
    doc = inspect.getdoc(method) or ""
    for field in action["request_fields"]:
        assert snake(field["name"]) in doc, f"{field['name']} undocumented in {method.__name__}"


def test_action_fields_table_matches_spec() -> None:
    for action in ACTIONS:
        table = tcsms.ACTION_FIELDS[action["name"]]
        assert [(f[0], f[2], f[3]) for f in table] == [
            (f["name"], f["type"], f["required"] == "yes") for f in action["request_fields"]
        ]


@pytest.mark.parametrize("name", ["_actions.py", "_status.py", "_native.py"])
def test_installed_generated_files_are_current(name: str) -> None:
    # The sources are checked against the specs by `cargo run -p xtask -- check` (rust
    # suite); here the installed package must carry those same files.
    installed = Path(tcsms.__file__).with_name(name).read_text(encoding="utf-8")
    source = (REPO / "bindings/python/src/tcsms" / name).read_text(encoding="utf-8")
    assert installed == source, "the installed package is stale: pip install ./bindings/python"


def typed_dict_keys(td: Any) -> Tuple[Set[str], Set[str]]:
    """A TypedDict's (required, optional) keys. Python 3.8 has no __required_keys__ and
    merges a base's annotations into the class, so there they come from the generated
    layout: required fields in `_<Name>Required(TypedDict)`, the rest in `<Name>(..., total=False)`."""
    if hasattr(td, "__required_keys__"):
        return set(td.__required_keys__), set(td.__optional_keys__)
    from tcsms import _actions

    keys = set(td.__annotations__)
    if td.__total__:
        return keys, set()
    base = getattr(_actions, f"_{td.__name__}Required", None)
    required = set(base.__annotations__) if base is not None else set()
    return required, keys - required


def test_typed_dicts_follow_the_spec() -> None:
    from tcsms import _actions

    for action in ACTIONS:
        req = getattr(_actions, action["request_struct"])
        required, optional = typed_dict_keys(req)
        assert required == {f["name"] for f in action["request_fields"] if f["required"] == "yes"}, action["name"]
        assert set(req.__annotations__) | optional == {f["name"] for f in action["request_fields"]}, action["name"]
        resp = getattr(_actions, action["response_struct"])
        hints = inspect.signature(getattr(tcsms.Client, snake(action["name"]))).return_annotation
        assert hints in (action["response_struct"], "Response"), hints
        assert {f["name"] for f in action["response_fields"]} == set().union(*typed_dict_keys(resp))


def test_every_local_code_is_in_the_table() -> None:
    # Every (status, code) pair the Python sources raise matches spec/client_errors.json.
    from tcsms._status import CLIENT_ERRORS

    pairs = []
    for path in (REPO / "bindings/python/src/tcsms").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        pairs += re.findall(r'status=Status\.(\w+),\s*code="(ClientError\.\w+)"', text)
    assert len(pairs) >= 10, pairs
    for status, code in pairs:
        assert code in CLIENT_ERRORS, code
        assert CLIENT_ERRORS[code][0].name == status, (code, status)


def test_help_reads_well() -> None:
    import pydoc

    text = pydoc.render_doc(tcsms.Client, renderer=pydoc.plaintext)
    for needle in ("send_sms", "report_conversion", "Thread safety", "RequestId", "close"):
        assert needle in text
    assert inspect.getdoc(tcsms.Client.call)
    assert inspect.getdoc(tcsms.Client.close)
