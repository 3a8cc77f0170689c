"""Validate YAML data against a pydantic model and translate every error into a `ConfigIssue`
that says what is allowed (literal values, known keys with a 'did you mean', expected types)."""

from __future__ import annotations

import difflib
import types
import typing
from typing import Any, Literal, Union

from pydantic import BaseModel, SecretStr, ValidationError

from config.issues import ConfigIssue, KeyPath
from config.models import ReferenceErrors
from config.yaml_source import YamlSource

M = typing.TypeVar("M", bound=BaseModel)

# where a value at a path came from when not from the file (env overrides): path -> env var
Overrides = dict[KeyPath, str]


def validate(
    model: type[M], src: YamlSource, overrides: Overrides | None = None
) -> tuple[M | None, list[ConfigIssue]]:
    """Validate `src.data`; on failure return every error as an issue."""
    overrides = overrides or {}
    _empty_substitutions_to_none(model, src)
    try:
        return model.model_validate(src.data), []
    except ValidationError as exc:
        issues: list[ConfigIssue] = []
        for err in exc.errors(include_url=False):
            issues.extend(_issues_for(model, src, overrides, err))
        return None, _dedupe(issues)


def _dedupe(issues: list[ConfigIssue]) -> list[ConfigIssue]:
    seen: set[str] = set()
    out = []
    for i in issues:
        if str(i) not in seen:
            seen.add(str(i))
            out.append(i)
    return out


# ----------------------------------------------------------------------- schema walking


def _unwrap(tp: Any) -> Any:
    """`X | None` -> `X`; `Annotated[X, ...]` -> `X`."""
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(args) != 1:
                return tp
            tp = args[0]
        else:
            return tp


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _field(model: type[BaseModel], key: Any):
    for name, info in model.model_fields.items():
        if key in (name, info.alias):
            return info
    return None


def _allowed_keys(model: type[BaseModel]) -> list[str]:
    return [info.alias or name for name, info in model.model_fields.items()]


def type_at(root: Any, path: KeyPath) -> Any:
    """The annotation of the value at `path` under `root` (None when it cannot be told)."""
    tp = root
    for part in path:
        tp = _unwrap(tp)
        origin = typing.get_origin(tp)
        if _is_model(tp):
            info = _field(tp, part)
            if info is None:
                return None
            tp = info.annotation
        elif origin is dict:
            tp = typing.get_args(tp)[1]
        elif origin is list:
            tp = typing.get_args(tp)[0]
        else:
            return None
    return tp


def _accepts_none(tp: Any) -> bool:
    origin = typing.get_origin(tp)
    return origin in (Union, types.UnionType) and type(None) in typing.get_args(tp)


def _is_secret(tp: Any) -> bool:
    return _unwrap(tp) is SecretStr


def _empty_substitutions_to_none(model: type[BaseModel], src: YamlSource) -> None:
    """`api_key: ${GOOGLE_API_KEY:-}` with the variable unset means 'not set' (None), not ''."""
    for path in src.substituted_empty:
        if path and _accepts_none(type_at(model, path)):
            parent = src.data
            try:
                for part in path[:-1]:
                    parent = parent[part]
                if parent[path[-1]] == "":
                    parent[path[-1]] = None
            except (KeyError, IndexError, TypeError):
                continue


# ----------------------------------------------------------------------- error translation


def _show(value: Any) -> str:
    if isinstance(value, str):
        return repr(value) if len(value) <= 60 else repr(value[:57] + "...")
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return str(value)


def _got(value: Any, secret: bool) -> str:
    return "a secret value (not shown)" if secret else _show(value)


def _literal_values(tp: Any) -> list[str] | None:
    tp = _unwrap(tp)
    if typing.get_origin(tp) is Literal:
        return [str(a) for a in typing.get_args(tp)]
    return None


def _suggest(key: str, allowed: list[str]) -> str:
    close = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


_TYPE_WORDS: dict[str, str] = {
    "int_parsing": "a whole number",
    "int_type": "a whole number",
    "int_from_float": "a whole number",
    "float_parsing": "a number",
    "float_type": "a number",
    "bool_parsing": "true or false",
    "bool_type": "true or false",
    "string_type": "text",
    "list_type": "a list",
    "dict_type": "a mapping (key: value pairs)",
    "model_type": "a mapping (key: value pairs)",
    "model_attributes_type": "a mapping (key: value pairs)",
}

_BOUNDS: dict[str, tuple[str, str]] = {
    "greater_than": ("gt", ">"),
    "greater_than_equal": ("ge", ">="),
    "less_than": ("lt", "<"),
    "less_than_equal": ("le", "<="),
}


def _issues_for(
    model: type[BaseModel], src: YamlSource, overrides: Overrides, err: dict
) -> list[ConfigIssue]:
    loc: KeyPath = tuple(err["loc"])
    kind: str = err["type"]
    ctx: dict = err.get("ctx") or {}
    value = err.get("input")

    def at(path: KeyPath, message: str) -> ConfigIssue:
        for p in (path[:n] for n in range(len(path), 0, -1)):
            if p in overrides:
                return ConfigIssue(f"environment {overrides[p]}", None, path, message)
        return src.issue(path, message)

    # errors about a dict key (e.g. webhooks.auth.<source>) carry a '[key]' marker
    if "[key]" in loc:
        path = loc[: loc.index("[key]")]
        allowed = _literal_values(typing.get_args(_unwrap(type_at(model, path[:-1])))[0]) or []
        msg = f"unknown key '{path[-1]}' (allowed: {', '.join(allowed)})"
        return [at(path, msg + _suggest(path[-1], allowed))]

    tp = type_at(model, loc)
    secret = _is_secret(tp)

    if kind == "value_error" and isinstance(ctx.get("error"), ReferenceErrors):
        return [at((*loc, *p), m) for p, m in ctx["error"].errors]
    if kind == "extra_forbidden":
        parent = _unwrap(type_at(model, loc[:-1]))
        allowed = _allowed_keys(parent) if _is_model(parent) else []
        key = loc[-1]
        return [
            at(loc, f"unknown key '{key}' (allowed: {', '.join(allowed)})" + _suggest(key, allowed))
        ]
    if kind == "missing":
        return [at(loc, f"missing required key '{loc[-1]}'" if loc else "missing required key")]
    if kind in ("literal_error", "enum"):
        allowed = _literal_values(tp) or [ctx.get("expected", "?")]
        return [at(loc, f"invalid value {_got(value, secret)} (allowed: {', '.join(allowed)})")]
    if kind in _TYPE_WORDS:
        hint = ""
        if kind == "string_type" and isinstance(value, int | float | bool):
            hint = " (put it in quotes)"
        return [at(loc, f"expected {_TYPE_WORDS[kind]}, got {_got(value, secret)}{hint}")]
    if kind in _BOUNDS:
        key, op = _BOUNDS[kind]
        return [at(loc, f"must be {op} {ctx.get(key)}, got {_got(value, secret)}")]
    if kind == "too_short":
        n = ctx.get("min_length", 1)
        return [at(loc, f"needs at least {n} entr{'y' if n == 1 else 'ies'}")]
    if kind == "too_long":
        return [at(loc, f"has too many entries (at most {ctx.get('max_length')})")]
    message: str = err.get("msg", "invalid value")
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    return [at(loc, message)]
