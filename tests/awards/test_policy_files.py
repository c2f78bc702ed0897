"""The policy files: they load, they quote their documents, and a mistake in one stops loading."""

import hashlib
import os
import re
import shutil
from pathlib import Path

import pytest
import yaml

from app.policies.loader import DEFAULT_DIR, PolicyError, load_policies, read_policies, validate_all

SEEDS = Path(os.environ.get("YUMIAO_SEEDS_DIR", "/work/shared/seeds"))
SEED_FILES = {"gz2022-9": "000_e8999cc6d7929b35.txt", "gzb2023-7": "002_7d8074b865f5c14f.txt"}


def test_the_policies_load_and_are_cached():
    first = load_policies()
    assert load_policies() is first
    assert validate_all() is not first
    assert set(first.documents) == {"gz2022-9", "gzb2023-7"}
    for doc in first.documents.values():
        assert doc.version == hashlib.sha256(doc.path.read_bytes()).hexdigest()


def test_periods_and_funds_match_the_documents():
    docs = load_policies().documents
    p2022, p2023 = docs["gz2022-9"].spec.in_force, docs["gzb2023-7"].spec.in_force
    assert (str(p2022.start), str(p2022.end)) == ("2022-04-09", "2024-12-31")
    assert (str(p2023.start), str(p2023.end)) == ("2023-01-01", "2023-12-31")
    funds = {f.id: (f.funder, f.amount_yuan, f.clause) for f in load_policies().funds}
    assert funds == {
        "gz2022-9.fund.county": ("county", 5_000_000, "五（二）"),
        "gzb2023-7.fund.county": ("county", 10_000_000, "三（二）"),
    }


def _squash(text: str) -> str:
    text = re.sub(r"\s+", "", text)
    return re.sub(r"-\d+-", "", text)  # page numbers such as “- 4 -”


@pytest.mark.skipif(not SEEDS.is_dir(), reason="source documents not available")
def test_clause_text_is_quoted_from_the_document():
    for code, name in SEED_FILES.items():
        doc = load_policies().documents[code]
        source = _squash((SEEDS / name).read_text(encoding="utf-8"))
        assert _squash(doc.number) in source
        for item in [*doc.spec.rules, *doc.spec.funds]:
            assert _squash(item.clause_text) in source, item.id


def test_every_money_rule_has_a_funder_or_a_reason():
    for rule in load_policies().rules.values():
        if rule.kind == "benefit":
            assert rule.amount is None and rule.funder is None
        elif rule.funder is None:
            assert rule.amount.shape == "unspecified"


# ── mistakes stop loading, naming file, rule and field ─────────────────────


def _copy_policies(tmp_path: Path) -> Path:
    for path in DEFAULT_DIR.glob("*.yaml"):
        shutil.copy(path, tmp_path / path.name)
    return tmp_path


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _error(folder: Path) -> str:
    with pytest.raises(PolicyError) as info:
        read_policies(folder)
    return str(info.value)


def test_a_misspelt_key_names_file_rule_and_field(tmp_path):
    folder = _copy_policies(tmp_path)
    _edit(folder / "gz-2022-9.yaml", "{shape: up_to, yuan: 150000,", "{shape: up_to, yuen: 150000,")
    message = _error(folder)
    assert str(folder / "gz-2022-9.yaml") in message
    assert "rule gz2022-9.county.specialized_sme.provincial" in message
    assert "amount.up_to.yuen" in message


def test_a_misspelt_condition_names_the_rule(tmp_path):
    folder = _copy_policies(tmp_path)
    _edit(
        folder / "gzb-2023-7.yaml", "      honour: dcmm\n      levels:", "      honour: dcmm\n      levles:"
    )
    message = _error(folder)
    assert "gzb-2023-7.yaml" in message
    assert "rule gzb2023-7.county.dcmm: conditions.levles" in message


def test_a_wrong_level_for_the_honour_is_refused(tmp_path):
    folder = _copy_policies(tmp_path)
    _edit(
        folder / "gzb-2023-7.yaml",
        "conditions: {honour: little_giant, levels: [national]",
        "conditions: {honour: little_giant, levels: [provincial]",
    )
    assert "rule gzb2023-7.city.little_giant.national" in _error(folder)


def test_a_bad_shape_a_bad_event_and_a_missing_funder_are_refused(tmp_path):
    folder = _copy_policies(tmp_path)
    path = folder / "gz-2022-9.yaml"
    _edit(path, "amount: {shape: up_to, yuan: 50000, one_off: true}", "amount: {shape: upto, yuan: 50000}")
    _edit(path, "event: skills_contest", "event: skill_contest")
    _edit(
        path,
        "    funder: county\n    label: 县级奖励\n    subject: 新认定省级独角兽企业",
        "    label: 县级奖励\n    subject: 新认定省级独角兽企业",
    )
    message = _error(folder)
    assert "rule gz2022-9.county.first_above_scale: amount" in message
    assert "rule gz2022-9.county.skills_contest: event" in message
    assert "rule gz2022-9.county.unicorn.provincial" in message and "needs a funder" in message


def test_a_condition_for_another_event_type_is_refused(tmp_path):
    folder = _copy_policies(tmp_path)
    _edit(
        folder / "gz-2022-9.yaml",
        "conditions: {min_participants: 100}",
        "conditions: {min_participants: 100, rank: gold}",
    )
    assert "conditions.rank does not apply to skills_contest" in _error(folder)


def test_dangling_references_are_refused(tmp_path):
    folder = _copy_policies(tmp_path)
    path = folder / "gzb-2023-7.yaml"
    _edit(
        path, "supersedes: gz2022-9.county.first_above_scale", "supersedes: gz2022-9.county.first_above_scal"
    )
    _edit(path, "of_rule: gzb2023-7.province.tech_loan_interest", "of_rule: gzb2023-7.province.loan")
    message = _error(folder)
    assert "rule gzb2023-7.county.first_above_scale: supersedes: no rule" in message
    assert "rule gzb2023-7.city.tech_loan_interest: amount.of_rule" in message


def test_a_supersession_across_funders_is_refused(tmp_path):
    folder = _copy_policies(tmp_path)
    _edit(
        folder / "gzb-2023-7.yaml",
        "supersedes: gz2022-9.county.first_above_scale",
        "supersedes: gz2022-9.county.skills_contest",
    )
    assert "another funder or event" in _error(folder)


def test_duplicate_ids_and_yaml_syntax_errors_are_refused(tmp_path):
    folder = _copy_policies(tmp_path)
    _edit(
        folder / "gz-2022-9.yaml",
        "id: gz2022-9.county.specialized_sme.city",
        "id: gz2022-9.county.specialized_sme.provincial",
    )
    assert "used twice" in _error(folder)
    (folder / "gz-2022-9.yaml").write_text("rules: [\n", encoding="utf-8")
    assert "gz-2022-9.yaml: YAML syntax" in _error(folder)


def test_a_rule_id_must_carry_its_document_code(tmp_path):
    folder = _copy_policies(tmp_path)
    _edit(
        folder / "gz-2022-9.yaml", "id: gz2022-9.county.skills_contest", "id: gz2023-9.county.skills_contest"
    )
    assert "does not start with the document code" in _error(folder)


def test_an_empty_folder_is_an_error(tmp_path):
    assert "no policy files" in _error(tmp_path)


def test_the_files_are_plain_yaml():
    for path in DEFAULT_DIR.glob("*.yaml"):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert {"code", "number", "title", "issuer", "issue_date", "in_force", "rules"} <= set(data)
