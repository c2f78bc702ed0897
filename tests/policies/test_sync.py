"""The shipped YAML files are the source of the first published versions, and a corrected shipped file reaches
an existing database (`yumiao migrate` runs the sync) unless someone has edited that document in the system."""

import shutil

from sqlalchemy import select

from app.accounts.permissions import SYSTEM
from app.policies import store
from app.policies.loader import DEFAULT_DIR
from app.policies.models import PolicyVersion


def _shipped_copy(tmp_path, change=None):
    for path in DEFAULT_DIR.glob("*.yaml"):
        shutil.copy(path, tmp_path / path.name)
    if change:
        name, old, new = change
        target = tmp_path / name
        text = target.read_text(encoding="utf-8")
        assert old in text
        target.write_text(text.replace(old, new, 1), encoding="utf-8")
    return tmp_path


def _versions(db, code):
    return list(
        db.scalars(select(PolicyVersion).where(PolicyVersion.code == code).order_by(PolicyVersion.id))
    )


def test_the_shipped_files_are_the_published_versions_with_their_cases(db):
    for code, name in (("gz2022-9", "gz-2022-9.yaml"), ("gzb2023-7", "gzb-2023-7.yaml")):
        (v,) = [x for x in _versions(db, code) if x.status == "published"]
        assert v.origin == "shipped" and v.content == (DEFAULT_DIR / name).read_text(encoding="utf-8")
        assert v.cases and "clause:" in v.cases
    assert store.sync_shipped(db) == []  # nothing changed: nothing to do


def test_a_corrected_shipped_file_is_published_as_a_new_version(db, tmp_path):
    # 冠政发〔2022〕9号 四（十）: a note corrected in the shipped file
    folder = _shipped_copy(
        tmp_path,
        ("gz-2022-9.yaml", "# Every award of this plan", "# Corrected note. Every award of this plan"),
    )
    done = store.sync_shipped(db, directory=folder)
    assert len(done) == 1 and done[0].startswith("gz2022-9")
    versions = _versions(db, "gz2022-9")
    assert [v.status for v in versions] == ["superseded", "published"]
    assert "Corrected note" in versions[-1].content and versions[-1].source_id == versions[0].id
    assert store.current(db).documents["gz2022-9"].version == versions[-1].content_hash


def test_a_document_edited_in_the_system_is_not_overwritten_by_the_shipped_file(db, tmp_path):
    text = store.document_yaml(db, actor=SYSTEM, code="gz2022-9").content
    store.put_draft(
        db,
        actor=SYSTEM,
        code="gz2022-9",
        content=text.replace("yuan: 50000, one_off", "yuan: 60000, one_off"),
    )
    folder = _shipped_copy(
        tmp_path, ("gz-2022-9.yaml", "# Every award of this plan", "# Corrected. Every award")
    )
    done = store.sync_shipped(db, directory=folder)
    assert done == ["gz2022-9: 已有人在系统中编辑过该文件，未用安装包中的新版本覆盖"]
    assert [v.status for v in _versions(db, "gz2022-9")] == ["published", "draft"]


def test_a_publish_in_one_worker_is_seen_by_the_next_transaction_of_another(committed):
    a, b = committed(), committed()
    try:
        assert "gzb2024-3" not in store.current(a).documents
        text = store.document_yaml(b, actor=SYSTEM, code="gzb2023-7").content.replace(
            "gzb2023-7", "gzb2024-3"
        )
        text = text.replace(
            "in_force: {start: 2023-01-01, end: 2023-12-31}", "in_force: {start: 2024-01-01, end: 2024-12-31}"
        )
        text = text.replace("issue_date: 2023-03-23", "issue_date: 2024-03-01")
        store.put_draft(b, actor=SYSTEM, code="gzb2024-3", content=text)
        store.publish(b, actor=SYSTEM, code="gzb2024-3")
        b.commit()
        a.commit()  # the request ends; the next one asks again
        assert "gzb2024-3" in store.current(a).documents
    finally:
        a.close()
        b.close()
