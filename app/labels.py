"""Chinese words for codes — one `labels` module per domain (`app/<domain>/labels.py`), gathered here once.

A domain's labels module may define:
- `FIELDS`: field name → Chinese name (an audited change, a form, an error). A key `entity.field` names the
  field of one entity type only.
- `VALUES`: field name → {code → Chinese name} for fields whose values are codes (status, pool, rule …).
- `codes()`: further codes → Chinese names that are only known at run time (policy rules, funds).
- `TEMPLATE_GLOBALS`: the tables its templates use by name (registered with the templates here, once);
- any `*_NAMES` table (code → Chinese name) and `AUDIT_ACTIONS` / `AUDIT_ENTITIES` (the history tab's words).

Pages show the Chinese word; the code may follow as secondary text. `register(env)` puts the helpers into
the templates once (app.web.render), and `known_codes()` is what the page test looks for in main text.
"""

import importlib
import pkgutil
from collections.abc import Iterable
from datetime import date, datetime
from functools import lru_cache
from types import ModuleType
from typing import Any


@lru_cache
def modules() -> tuple[ModuleType, ...]:
    import app

    out = []
    for m in pkgutil.iter_modules(app.__path__):
        if not m.ispkg:
            continue
        name = f"app.{m.name}.labels"
        try:
            out.append(importlib.import_module(name))
        except ModuleNotFoundError as e:
            if e.name != name:
                raise
    return tuple(out)


@lru_cache
def _fields() -> dict[str, str]:
    out: dict[str, str] = {}
    for m in modules():
        out.update(getattr(m, "FIELDS", {}))
    return out


@lru_cache
def _values() -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for m in modules():
        for field, names in getattr(m, "VALUES", {}).items():
            out.setdefault(field, {}).update(names)
        # A domain's audit vocabulary names the history tab's actions and records.
        out.setdefault("action", {}).update(getattr(m, "AUDIT_ACTIONS", {}))
        out.setdefault("entity_type", {}).update(getattr(m, "AUDIT_ENTITIES", {}))
    return out


def _named(m: ModuleType) -> dict[str, str]:
    """Every `*_NAMES` table of a labels module whose keys are codes."""
    out: dict[str, str] = {}
    for attr, table in vars(m).items():
        if attr.endswith("_NAMES") and isinstance(table, dict):
            out.update({k: v for k, v in table.items() if isinstance(k, str) and isinstance(v, str)})
    return out


@lru_cache
def _codes() -> dict[str, str]:
    out: dict[str, str] = {}
    for names in _values().values():
        out.update(names)
    for m in modules():
        out.update(_named(m))
        if hasattr(m, "codes"):
            out.update(m.codes())
    return out


def field(name: str, entity: str | None = None) -> str:
    """The Chinese name of a field (of `entity` if it has its own); the name itself if none is known."""
    f = _fields()
    return (entity and f.get(f"{entity}.{name}")) or f.get(name) or name


def value(field_name: str | None, v: Any) -> str:
    """A value as a person reads it: a code's Chinese name, 是/否, a grouped number, a date."""
    if v is None or v == "":
        return "—"
    if isinstance(v, bool):
        return "是" if v else "否"
    if isinstance(v, int | float) and not isinstance(v, bool):
        if field_name and field_name.endswith("_yuan"):
            return f"{v:,} 元"
        return f"{v:,}" if isinstance(v, int) and abs(v) >= 10000 else str(v)
    if isinstance(v, date | datetime):
        return v.isoformat()
    if isinstance(v, dict):
        return "；".join(f"{field(k)}：{value(k, x)}" for k, x in v.items())
    if isinstance(v, list | tuple):
        return "、".join(value(field_name, x) for x in v)
    text = str(v)
    names = _values().get(field_name or "", {})
    return names.get(text) or _codes().get(text) or text


def code(v: Any) -> str:
    """Any known code's Chinese name (the code itself if unknown)."""
    return _codes().get(str(v), str(v))


def change_lines(entity: str | None, changes: dict | None) -> list[tuple[str, str, str | None]]:
    """An audited change as (field, before, after) in words; `after` is None for a plain fact (no arrow)."""
    out = []
    for k, v in (changes or {}).items():
        if isinstance(v, list) and len(v) == 2:
            out.append((field(k, entity), value(k, v[0]), value(k, v[1])))
        else:
            out.append((field(k, entity), value(k, v), None))
    return out


def known_codes() -> dict[str, str]:
    """Every code the system knows a Chinese name for (for the test that no code is shown as main text)."""
    return dict(_codes())


def register(env) -> None:
    """Once, for every template: the helpers above and each domain's `TEMPLATE_GLOBALS` (its tables of words)."""
    env.globals.update(field_label=field, value_label=value, code_label=code, change_lines=change_lines)
    for m in modules():
        env.globals.update(getattr(m, "TEMPLATE_GLOBALS", {}))


def quoted(text) -> str:
    """“text”, with quotes already inside turned to single ones: “‘小升规’工业企业培育库”, never ““小升规”…”."""
    text = "" if text is None else str(text)
    return "“" + text.replace("“", "‘").replace("”", "’") + "”"


def names(codes_: Iterable[str]) -> str:
    return "、".join(code(c) for c in codes_)
