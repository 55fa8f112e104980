"""The client configuration: keywords of :class:`tcsms.Client` and
:class:`tcsms.AsyncClient` to the JSON object of ``tcsms_client_new``.

One place: a configuration key the library takes as is is one line of
:class:`ClientOptions` (the keyword's name is the key); a key whose keyword takes another
unit also gets a line in ``_CONVERTED``, and a secret one a line in ``SECRET_KEYS``.

Secrets (the secret key, the token, a proxy or store URL's password) never sit in a plain
local variable of a frame that can raise: they are wrapped in :class:`Redacted` at once,
so a traceback printed with its locals (``pytest --showlocals``,
``traceback.TracebackException(capture_locals=True)``, Sentry) shows ``<redacted>``.
"""

from __future__ import annotations

import inspect
import json
from ctypes import byref, c_void_p
from typing import Any, Callable, Dict, Mapping, Optional, Tuple, TypedDict

from . import _ffi
from ._errors import ConfigError, Status
from ._marshal import seconds_to_ms, to_json

__all__ = ["ClientOptions", "Redacted", "Settings", "new_client", "signature"]

#: Configuration keys whose values are secret (the proxy and store URLs may carry a password).
SECRET_KEYS = ("secret_key", "token", "proxy", "rate_limit_store")


class ClientOptions(TypedDict, total=False):
    """The configuration keywords after the credentials (``None``: the library default)."""

    token: Optional[str]
    region: Optional[str]
    endpoint: Optional[str]
    language: Optional[str]
    timeout: Optional[float]
    max_retries: Optional[int]
    connect_timeout: Optional[float]
    proxy: Optional[str]
    ca_file: Optional[str]
    rate_limits: Optional[Mapping[str, float]]
    rate_limit_store: Optional[str]
    rate_limit_key: Optional[str]
    rate_limit_store_fallback_share: Optional[float]
    log_phone_numbers: Optional[bool]
    credential_source: Optional[str]
    cvm_role_name: Optional[str]
    role_arn: Optional[str]
    role_session_name: Optional[str]
    role_duration_seconds: Optional[int]
    oidc_provider_id: Optional[str]
    oidc_token_file: Optional[str]
    metadata_endpoint: Optional[str]
    sts_endpoint: Optional[str]


#: Keywords given in another unit than their configuration key: keyword -> (key, convert).
_CONVERTED: Dict[str, Tuple[str, Callable[[Any], Any]]] = {
    "timeout": ("timeout_ms", lambda v: seconds_to_ms(v, "timeout")),
    "connect_timeout": ("connect_timeout_ms", lambda v: seconds_to_ms(v, "connect_timeout")),
    "rate_limits": ("rate_limits", dict),
}

#: Every configuration keyword, in signature order.
KEYWORDS: Tuple[str, ...] = tuple(ClientOptions.__annotations__)


class Redacted:
    """Holds a value that must not be shown: ``repr`` and ``str`` say ``<redacted>``."""

    __slots__ = ("_value",)

    def __init__(self, value: Any) -> None:
        self._value = value

    def reveal(self) -> Any:
        return self._value

    def __repr__(self) -> str:
        return "<redacted>"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        raise TypeError("tcsms secrets cannot be pickled")


def _config_error(message: str) -> ConfigError:
    return ConfigError(message, status=Status.INVALID_CONFIG, code="ClientError.InvalidConfig")


class Settings:
    """A client's configuration as given: the credentials, the keywords and ``config``.

    Construction only stores (it never raises, so no frame holds the plain secrets when
    something is refused); :meth:`native` checks and converts.
    """

    __slots__ = ("_secret_id", "_secrets", "_options", "_config")

    def __init__(
        self,
        secret_id: Any,
        secret_key: Any,
        options: Mapping[str, Any],
        config: Optional[Mapping[str, Any]],
    ) -> None:
        self._secret_id = secret_id
        self._secrets = Redacted(
            {"secret_key": secret_key, **{k: options[k] for k in SECRET_KEYS if k in options}}
        )
        self._options = {k: v for k, v in options.items() if k not in SECRET_KEYS}
        self._config = Redacted(config)

    def __repr__(self) -> str:
        return "<tcsms client settings (redacted)>"

    def native(self) -> Tuple[Dict[str, Any], Redacted]:
        """The configuration object without its secrets, and the JSON object with them
        (as :class:`Redacted` bytes).  Raises ConfigError / InvalidArgument / TypeError."""
        unknown = sorted(k for k in self._options if k not in KEYWORDS)
        if unknown:
            raise TypeError(f"unexpected keyword argument {unknown[0]!r} (tcsms.Client)")
        config = self._config.reveal()
        if config is not None and not isinstance(config, Mapping):
            raise _config_error(f"config must be a dict, not {type(config).__name__}")
        # From config= first (secrets kept apart), then every keyword given (not None).
        plain: Dict[str, Any] = {
            k: v for k, v in (config or {}).items() if k not in SECRET_KEYS and v is not None
        }
        secrets = Redacted(
            {k: v for k, v in (config or {}).items() if k in SECRET_KEYS and v is not None}
        )
        if self._secret_id is not None:
            plain["secret_id"] = self._secret_id
        for keyword, value in self._options.items():
            if value is not None:
                key, convert = _CONVERTED.get(keyword, (keyword, _same))
                plain[key] = convert(value)
        secrets.reveal().update(
            {k: v for k, v in self._secrets.reveal().items() if v is not None}
        )
        wrong = [k for k, v in secrets.reveal().items() if not isinstance(v, str)]
        if wrong:
            kind = type(secrets.reveal()[wrong[0]]).__name__
            raise _config_error(f"{wrong[0]} must be a str, not {kind}")
        body = to_json(plain, "client configuration")  # no secret in it
        return plain, Redacted(_splice(body, secrets))


def _same(value: Any) -> Any:
    return value


def _splice(body: bytes, secrets: Redacted) -> bytes:
    """``body`` (a JSON object) with the secret string members added; never raises."""
    members = b",".join(
        json.dumps(k).encode("ascii") + b":" + json.dumps(v).encode("ascii")
        for k, v in sorted(secrets.reveal().items())
    )
    if not members:
        return body
    return body[:-1] + (b"," if len(body) > 2 else b"") + members + b"}"


def new_client(config_json: Redacted) -> Tuple[int, Optional[int], Optional[bytes]]:
    """``tcsms_client_new``: (status, the client or None, the error envelope)."""
    handle = c_void_p()
    status, data = _ffi.call_out(_ffi.out_lib.tcsms_client_new, config_json.reveal(), byref(handle))
    if status != Status.OK or not handle.value:
        if handle.value:  # contract says NULL on failure; never leak regardless
            _ffi.lib.tcsms_client_free(handle)
        return (status if status != Status.OK else Status.PANIC), None, data
    return status, handle.value, data


def signature(function: Callable[..., Any]) -> inspect.Signature:
    """``function``'s signature with ``**options`` spelled out as the keywords of
    :class:`ClientOptions` (for ``help()`` and ``inspect``)."""
    sig = inspect.signature(function)
    given = [p for p in sig.parameters.values() if p.kind != p.VAR_KEYWORD]
    positional = [p for p in given if p.kind != p.KEYWORD_ONLY]
    options = [
        inspect.Parameter(
            name,
            inspect.Parameter.KEYWORD_ONLY,
            default=None,
            annotation=getattr(annotation, "__forward_arg__", annotation),  # ForwardRef on 3.8
        )
        for name, annotation in ClientOptions.__annotations__.items()
    ]
    return sig.replace(parameters=positional + options + [p for p in given if p.kind == p.KEYWORD_ONLY])
