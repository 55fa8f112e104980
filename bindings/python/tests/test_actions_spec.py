"""The typed methods match spec/actions.json: every action, every field."""

from __future__ import annotations

import importlib.util
import inspect
import json
import re
import sys
from pathlib import Path

import pytest

import tcsms

from conftest import REPO

SPEC = json.loads((REPO / "spec" / "actions.json").read_text(encoding="utf-8"))
ACTIONS = SPEC["actions"]
GENERATOR = REPO / "bindings" / "python" / "tools" / "gen_actions.py"


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


def test_generated_file_is_current() -> None:
    spec = importlib.util.spec_from_file_location("gen_actions", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["gen_actions"] = module
    spec.loader.exec_module(module)
    rendered = module.render(SPEC)
    installed = Path(tcsms.__file__).with_name("_actions.py").read_text(encoding="utf-8")
    source = (REPO / "bindings/python/src/tcsms/_actions.py").read_text(encoding="utf-8")
    assert source == rendered, "run bindings/python/tools/gen_actions.py"
    assert installed == rendered, "the installed package is stale: pip install ./bindings/python"


def test_help_reads_well() -> None:
    import pydoc

    text = pydoc.render_doc(tcsms.Client, renderer=pydoc.plaintext)
    for needle in ("send_sms", "report_conversion", "Thread safety", "RequestId", "close"):
        assert needle in text
    assert inspect.getdoc(tcsms.Client.call)
    assert inspect.getdoc(tcsms.Client.close)
