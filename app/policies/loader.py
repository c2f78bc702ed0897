"""Load the policy files of a folder into one validated, immutable `PolicySet`.

    load_policies(directory=None) -> PolicySet   # cached per folder; default: this package
    validate_all(directory=None) -> PolicySet    # fresh load for start-up; raises PolicyError
    clear_cache() -> None

A document's version is the sha256 of its file's bytes, so an award line can
say exactly which text of the rules computed it. Any error — YAML syntax, a
misspelt key, a wrong level, a dangling `supersedes` — raises `PolicyError`
whose message names the file, the rule id and the field.
"""

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml
from pydantic import ValidationError

from app.policies.schema import Fund, PolicyDocument, Rule

DEFAULT_DIR = Path(__file__).parent


class PolicyError(ValueError):
    """The policy files are not valid; `messages` has one line per problem."""

    def __init__(self, messages: list[str]):
        self.messages = messages
        super().__init__("\n".join(messages))


@dataclass(frozen=True)
class LoadedDocument:
    spec: PolicyDocument
    version: str  # sha256 of the file bytes (of the stored YAML text, for a version in the database)
    path: Path | None = None  # the file, for a document read from this package
    content: str | None = None  # the YAML text, for a document read from the database

    @property
    def text(self) -> str:
        """The document in the YAML exchange format."""
        if self.content is not None:
            return self.content
        assert self.path is not None
        return self.path.read_text(encoding="utf-8")

    @property
    def code(self) -> str:
        return self.spec.code

    @property
    def number(self) -> str:
        return self.spec.number

    def in_force(self, day: date) -> bool:
        return self.spec.in_force.contains(day)


@dataclass(frozen=True)
class PolicySet:
    """All documents and rules; rules keep file order (documents sorted by file name).

    `rules_for(event_type, honour)` answers from an index built once per set, so an event looks
    only at the rules of its own type (and, for an honour, of its honour code).
    `fund_for(rule_id)` is answered from a table built with the index.
    """

    documents: Mapping[str, LoadedDocument]
    rules: Mapping[str, Rule]
    rule_documents: Mapping[str, str]  # rule id -> document code
    _index: Mapping[tuple[str, str | None], tuple[Rule, ...]] = field(default=None, repr=False, compare=False)
    # What users of the set derive from it once and keep with it (the award engine's plan): the set is
    # immutable, so anything computed from it alone stays valid as long as the set lives.
    derived: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    _funds: Mapping[str, Fund | None] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        index: dict[tuple[str, str | None], list[Rule]] = {}
        for rule in self.rules.values():
            index.setdefault((rule.event, None), []).append(rule)
            if rule.event == "honour":
                index.setdefault((rule.event, rule.conditions.honour), []).append(rule)
            if rule.supersedes:
                index.setdefault(("supersedes:" + rule.event, None), []).append(rule)
        object.__setattr__(self, "_index", MappingProxyType({k: tuple(v) for k, v in index.items()}))
        funds = {
            rule_id: next((f for f in self.document_of(rule_id).spec.funds if f.funder == rule.funder), None)
            for rule_id, rule in self.rules.items()
        }
        object.__setattr__(self, "_funds", MappingProxyType(funds))

    def rules_for(self, event_type: str, honour: str | None = None) -> tuple[Rule, ...]:
        """The rules answering `event_type` (and honour code), in rule order, whatever their period."""
        return self._index.get((event_type, honour if event_type == "honour" else None), ())

    def superseding(self, event_type: str) -> tuple[Rule, ...]:
        """The rules of `event_type` that name a rule they supersede."""
        return self._index.get(("supersedes:" + event_type, None), ())

    def document_of(self, rule_id: str) -> LoadedDocument:
        return self.documents[self.rule_documents[rule_id]]

    def fund_for(self, rule_id: str) -> Fund | None:
        """The fund of the rule's document from which the rule's funder pays, if the document sets one."""
        return self._funds[rule_id]

    @property
    def funds(self) -> list[Fund]:
        return [f for d in self.documents.values() for f in d.spec.funds]


def _describe(path: Path, raw: Any, exc: ValidationError) -> list[str]:
    messages = []
    for err in exc.errors():
        loc = list(err["loc"])
        where = ""
        if len(loc) >= 2 and loc[0] in ("rules", "funds") and isinstance(loc[1], int):
            items = raw.get(loc[0]) if isinstance(raw, dict) else None
            item = items[loc[1]] if isinstance(items, list) and loc[1] < len(items) else None
            item_id = item.get("id") if isinstance(item, dict) else None
            noun = "rule" if loc[0] == "rules" else "fund"
            where = f"{noun} {item_id or f'#{loc[1] + 1} (no id)'}: "
            loc = loc[2:]
        field = ".".join(str(part) for part in loc) or "(whole entry)"
        messages.append(f"{path}: {where}{field}: {err['msg']}")
    return messages


def _read(path: Path) -> tuple[LoadedDocument | None, list[str]]:
    data = path.read_bytes()
    try:
        raw = yaml.safe_load(data)
    except yaml.YAMLError as exc:
        return None, [f"{path}: YAML syntax: {exc}"]
    try:
        spec = PolicyDocument.model_validate(raw)
    except ValidationError as exc:
        return None, _describe(path, raw, exc)
    return LoadedDocument(spec=spec, version=hashlib.sha256(data).hexdigest(), path=path), []


def _cross_check(docs: list[LoadedDocument]) -> list[str]:
    """Checks that span rules: unique ids, supersession and share references."""
    errors: list[str] = []
    owner: dict[str, LoadedDocument] = {}
    for doc in docs:
        if doc.code in {d.code for d in docs if d is not doc}:
            errors.append(f"{doc.path}: document code {doc.code} is used by another file")
        for rule in doc.spec.rules:
            if rule.id in owner:
                errors.append(f"{doc.path}: rule {rule.id}: id already used in {owner[rule.id].path}")
            owner[rule.id] = doc
    rules = {r.id: r for d in docs for r in d.spec.rules}
    for doc in docs:
        for rule in doc.spec.rules:
            where = f"{doc.path}: rule {rule.id}"
            if rule.supersedes is not None:
                old = rules.get(rule.supersedes)
                if old is None:
                    errors.append(f"{where}: supersedes: no rule {rule.supersedes}")
                elif owner[old.id] is doc or owner[old.id].spec.issue_date >= doc.spec.issue_date:
                    errors.append(f"{where}: supersedes: {old.id} is not from an earlier document")
                elif (old.funder, old.event) != (rule.funder, rule.event):
                    errors.append(f"{where}: supersedes: {old.id} has another funder or event")
            for ref_id in rule.conditions.not_granted_under or []:
                if ref_id not in rules:
                    errors.append(f"{where}: conditions.not_granted_under: no rule {ref_id}")
            shape = rule.amount.shape if rule.amount else None
            if shape == "share":
                ref = rules.get(rule.amount.of_rule)
                if ref is None or owner[ref.id] is not doc:
                    errors.append(f"{where}: amount.of_rule: no rule {rule.amount.of_rule} in this document")
                elif ref.event != rule.event or ref.amount is None or ref.amount.shape == "share":
                    errors.append(
                        f"{where}: amount.of_rule: {ref.id} must answer the same event, not by a share"
                    )
    return errors


def read_policies(directory: Path | str | None = None) -> PolicySet:
    """Read and validate every *.yaml in `directory` (uncached)."""
    folder = Path(directory) if directory is not None else DEFAULT_DIR
    docs: list[LoadedDocument] = []
    errors: list[str] = []
    paths = sorted(folder.glob("*.yaml"))
    if not paths:
        raise PolicyError([f"{folder}: no policy files (*.yaml)"])
    for path in paths:
        doc, problems = _read(path)
        errors.extend(problems)
        if doc is not None:
            docs.append(doc)
    if not errors:  # references across files only make sense once every file has loaded
        errors.extend(_cross_check(docs))
    if errors:
        raise PolicyError(errors)
    return build_set(docs)


def build_set(docs: list[LoadedDocument]) -> PolicySet:
    """A PolicySet of documents already checked (rules in the order of `docs`)."""
    return PolicySet(
        documents=MappingProxyType({d.code: d for d in docs}),
        rules=MappingProxyType({r.id: r for d in docs for r in d.spec.rules}),
        rule_documents=MappingProxyType({r.id: d.code for d in docs for r in d.spec.rules}),
    )


@lru_cache(maxsize=8)
def _cached(folder: str) -> PolicySet:
    return read_policies(folder)


def load_policies(directory: Path | str | None = None) -> PolicySet:
    """The validated policies of `directory` (default: app/policies), read once and cached."""
    folder = Path(directory) if directory is not None else DEFAULT_DIR
    return _cached(str(folder.resolve()))


def clear_cache() -> None:
    _cached.cache_clear()


def validate_all(directory: Path | str | None = None) -> PolicySet:
    """Re-read the policy files and raise PolicyError on any problem; call at start-up."""
    clear_cache()
    return load_policies(directory)
