"""The binding's shape: the same typed surface sync and async, one request style for
the per-number sends, keyword-only configuration, no stray public names, no import
circle, and one owner of each native handle."""

from __future__ import annotations

import ast
import asyncio
import inspect
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List, Set

import pytest

import tcsms

from conftest import (
    APP_ID,
    DEMO_SECRET_ID,
    DEMO_SECRET_KEY,
    INTL_PHONE,
    SIGN_MAINLAND,
    TEMPLATE_INTL_VERIFY,
    TEMPLATE_VERIFY,
    Emulator,
)

# The sources (an installed package built from a stale build/ may carry old modules).
PACKAGE = Path(__file__).resolve().parents[1] / "src" / "tcsms"


def public_methods(cls: type) -> Set[str]:
    return {name for name, _ in inspect.getmembers(cls, callable) if not name.startswith("_")}


def test_async_client_has_every_method_of_the_sync_client() -> None:
    sync, asynchronous = public_methods(tcsms.Client), public_methods(tcsms.AsyncClient)
    assert sync - asynchronous == set()
    snake = {"".join("_" + c.lower() if c.isupper() else c for c in a).lstrip("_") for a in tcsms.ACTIONS}
    for name in snake | {"call", "send_sms_results", "send_multi_global_sms_results"}:
        method = getattr(tcsms.AsyncClient, name)
        assert inspect.iscoroutinefunction(method), name
        assert not inspect.iscoroutinefunction(getattr(tcsms.Client, name)), name
        sync_params = inspect.signature(getattr(tcsms.Client, name)).parameters
        async_params = inspect.signature(method).parameters
        assert list(sync_params) == list(async_params), name
        for param in sync_params.values():
            assert async_params[param.name].kind == param.kind, (name, param.name)
            assert async_params[param.name].default == param.default, (name, param.name)
    assert inspect.signature(tcsms.AsyncClient.send_sms_results).return_annotation == "SendResults"


def test_configuration_is_keyword_only_after_the_credentials() -> None:
    for cls in (tcsms.Client, tcsms.AsyncClient):
        params = list(inspect.signature(cls).parameters.values())
        assert [p.name for p in params[:2]] == ["secret_id", "secret_key"]
        assert all(p.kind is p.POSITIONAL_OR_KEYWORD for p in params[:2])
        assert all(p.kind is p.KEYWORD_ONLY for p in params[2:]), params
        names = {p.name for p in params}
        for documented in ("token", "region", "endpoint", "timeout", "rate_limits", "on_event",
                           "log_phone_numbers", "config", "proxy", "ca_file"):
            assert documented in names, (cls, documented)
        with pytest.raises(TypeError):
            cls(DEMO_SECRET_ID, DEMO_SECRET_KEY, "a-token")  # type: ignore[misc]
        with pytest.raises(TypeError, match="regoin"):
            cls(DEMO_SECRET_ID, DEMO_SECRET_KEY, regoin="ap-beijing")  # type: ignore[call-arg]


def test_positional_credentials_still_work(emulator: Emulator) -> None:
    with tcsms.Client(DEMO_SECRET_ID, DEMO_SECRET_KEY, endpoint=emulator.url) as client:
        assert client.report_conversion(APP_ID, "2433:1")["RequestId"]


def test_readme_documents_every_constructor_keyword() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    for cls in (tcsms.Client, tcsms.AsyncClient):
        for name in inspect.signature(cls).parameters:
            assert f"{name}:" in readme or f"{name}=" in readme, name


def test_no_stray_public_names() -> None:
    public = {name for name in dir(tcsms) if not name.startswith("_")}
    assert public == set(tcsms.__all__), public ^ set(tcsms.__all__)
    assert "annotations" not in dir(tcsms)


def _imports(path: Path) -> Set[str]:
    """The package modules ``path`` imports at run time (TYPE_CHECKING blocks excluded)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: Set[str] = set()

    def visit(nodes: List[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.dump(node.test):
                continue
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                if node.module:
                    found.add(node.module)
                else:
                    found.update(alias.name for alias in node.names)
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.stmt):
                    visit([child])

    visit(tree.body)
    return found


def test_no_import_circle_and_no_import_inside_functions() -> None:
    graph: Dict[str, Set[str]] = {
        p.stem: _imports(p) for p in PACKAGE.glob("*.py") if p.stem != "__init__"
    }
    state: Dict[str, int] = {}

    def walk(module: str, path: List[str]) -> None:
        if state.get(module) == 2:
            return
        assert state.get(module) != 1, f"import circle: {' -> '.join(path + [module])}"
        state[module] = 1
        for dep in sorted(graph.get(module, ())):
            walk(dep, path + [module])
        state[module] = 2

    for module in sorted(graph):
        walk(module, [])
    for path in PACKAGE.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                inner = [n for n in ast.walk(node) if isinstance(n, ast.ImportFrom) and n.level]
                assert not inner, f"{path.name}: {node.name} imports inside a function"


# -- send_sms_results: one request style ---------------------------------------------

def sms_keywords(numbers: List[str]) -> Dict[str, Any]:
    return dict(phone_number_set=numbers, sms_sdk_app_id=APP_ID, template_id=TEMPLATE_VERIFY,
                sign_name=SIGN_MAINLAND, template_param_set=["1234", "5"])


def sms_dict(numbers: List[str]) -> Dict[str, Any]:
    return {"PhoneNumberSet": numbers, "SmsSdkAppId": APP_ID, "TemplateId": TEMPLATE_VERIFY,
            "SignName": SIGN_MAINLAND, "TemplateParamSet": ["1234", "5"]}


def test_send_results_take_keywords_or_a_dict(client: tcsms.Client) -> None:
    numbers = ["+8613800000011", "13800000012", "+8613800000011"]
    by_keywords = client.send_sms_results(**sms_keywords(numbers))
    by_dict = client.send_sms_results(sms_dict(numbers))
    for results in (by_keywords, by_dict):
        assert [r.phone_number for r in results] == ["+8613800000011", "+8613800000012", "+8613800000011"]
        assert [r.class_ for r in results] == [tcsms.NumberClass.OK, tcsms.NumberClass.OK,
                                               tcsms.NumberClass.REJECTED]
    multi = client.send_multi_global_sms_results(
        sms_sdk_app_id=APP_ID,
        multi_sms_info_set=[{"phone_number": INTL_PHONE, "template_id": TEMPLATE_INTL_VERIFY,
                             "template_param_set": ["1234", "5"]}],
    )
    assert multi.all_ok and [r.phone_number for r in multi] == [INTL_PHONE]


def test_send_results_refuse_unknown_keys_naming_the_key_meant(client: tcsms.Client) -> None:
    snake_dict = {k: v for k, v in sms_keywords(["+8613800000013"]).items()}
    with pytest.raises(tcsms.InvalidArgument) as info:
        client.send_sms_results(snake_dict)
    text = str(info.value)
    assert "'phone_number_set' (did you mean 'PhoneNumberSet'?)" in text, text
    assert "'sms_sdk_app_id' (did you mean 'SmsSdkAppId'?)" in text, text
    assert "non-empty array" not in text
    with pytest.raises(tcsms.InvalidArgument, match=r"'Bogus'(?! \(did)"):
        client.send_sms_results(dict(sms_dict(["+8613800000013"]), Bogus=1))
    with pytest.raises(tcsms.InvalidArgument, match="not both"):
        client.send_sms_results(sms_dict(["+8613800000013"]), template_id="2001")
    with pytest.raises(tcsms.InvalidArgument, match="missing required keyword phone_number_set"):
        client.send_sms_results(sms_sdk_app_id=APP_ID, template_id=TEMPLATE_VERIFY)
    with pytest.raises(tcsms.InvalidArgument, match="'multi_sms_info_set' .did you mean 'MultiSmsInfoSet'"):
        client.send_multi_global_sms_results({"SmsSdkAppId": APP_ID, "multi_sms_info_set": []})


# -- AsyncClient: the typed surface against the emulator -------------------------------

def test_async_typed_methods_and_send_results(emulator: Emulator) -> None:
    async def main() -> None:
        async with tcsms.AsyncClient(DEMO_SECRET_ID, DEMO_SECRET_KEY, endpoint=emulator.url) as client:
            sent, signs, results = await asyncio.gather(
                client.send_sms(**sms_keywords(["+8613800000021"])),
                client.describe_sms_sign_list(international=0),
                client.send_sms_results(**sms_keywords(["+8613800000022", "+8613800000022"])),
            )
            assert sent["SendStatusSet"][0]["PhoneNumber"] == "+8613800000021"
            assert isinstance(signs["DescribeSignListStatusSet"], list)
            assert [r.class_ for r in results] == [tcsms.NumberClass.OK, tcsms.NumberClass.REJECTED]
            assert (await client.send_sms_results(sms_dict(["+8613800000023"]))).all_ok
            with pytest.raises(tcsms.InvalidArgument, match="did you mean 'PhoneNumberSet'"):
                await client.send_sms_results({"phone_number_set": ["+8613800000024"]})
            with pytest.raises(tcsms.APIError):
                await client.send_sms(phone_number_set=["+8613800000025"], sms_sdk_app_id=APP_ID,
                                      template_id="9999", sign_name=SIGN_MAINLAND)
            client.set_credentials(DEMO_SECRET_ID, DEMO_SECRET_KEY)
            assert client.clock_offset == 0
            assert client.stats()["Actions"]["SendSms"]["Calls"] >= 2
        assert client.closed
        with pytest.raises(tcsms.ClientClosedError):
            await client.send_sms_results(sms_dict(["+8613800000026"]))
        with pytest.raises(tcsms.ClientClosedError):
            await client.describe_sms_sign_list(international=0)

    asyncio.run(main())


# -- one handle owner --------------------------------------------------------------------

def test_close_is_idempotent_and_the_context_manager_closes(emulator: Emulator) -> None:
    for make in (tcsms.Client, tcsms.AsyncClient):
        client = make(DEMO_SECRET_ID, DEMO_SECRET_KEY, endpoint=emulator.url)
        client.close()
        client.close()
        assert client.closed
        with pytest.raises(tcsms.ClientClosedError):
            client.stats()
    with tcsms.Client(DEMO_SECRET_ID, DEMO_SECRET_KEY, endpoint=emulator.url) as client:
        pass
    assert client.closed


def test_clients_left_open_at_exit_are_quiet(emulator: Emulator) -> None:
    # __del__ runs during interpreter shutdown here: it must neither raise nor free
    # through a half-torn-down module.
    code = (
        "import asyncio, tcsms\n"
        f"c = tcsms.Client({DEMO_SECRET_ID!r}, {DEMO_SECRET_KEY!r}, endpoint={emulator.url!r})\n"
        "c.report_conversion('1400000001', '2433:1')\n"
        f"a = tcsms.AsyncClient({DEMO_SECRET_ID!r}, {DEMO_SECRET_KEY!r}, endpoint={emulator.url!r})\n"
        "async def main():\n"
        "    await a.report_conversion('1400000001', '2433:1')\n"
        "asyncio.run(main())\n"
        "cycle = [c, a]; cycle.append(cycle)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr.decode()
    assert done.stderr == b"", done.stderr.decode()
