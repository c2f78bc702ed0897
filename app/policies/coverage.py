"""Which policy documents govern a day, and what to say when none does.

    documents_in_force(policy_set, day) -> list[LoadedDocument]
    lapse_message(policy_set, day) -> str | None      # None when a document is in force
    event_warnings(policy_set, event_type, day) -> list[str]

Both shipped documents have end dates; after the last one lapses every matching,
award and forecast answers with nothing. These helpers turn that silence into a
sentence naming the latest document and the day it lapsed (or, before the
first, the day the earliest takes effect), so pages and the API can say why.
"""

from datetime import date

from app.policies.loader import LoadedDocument, PolicySet


def documents_in_force(policy_set: PolicySet, day: date) -> list[LoadedDocument]:
    """The documents whose period contains `day`, oldest issue date first."""
    return sorted(
        (d for d in policy_set.documents.values() if d.in_force(day)),
        key=lambda d: (d.spec.issue_date, d.code),
    )


def _latest_lapsed(policy_set: PolicySet, day: date) -> LoadedDocument | None:
    ended = [d for d in policy_set.documents.values() if d.spec.in_force.end < day]
    return max(ended, key=lambda d: (d.spec.in_force.end, d.spec.issue_date), default=None)


def _earliest_pending(policy_set: PolicySet, day: date) -> LoadedDocument | None:
    pending = [d for d in policy_set.documents.values() if d.spec.in_force.start > day]
    return min(pending, key=lambda d: (d.spec.in_force.start, d.spec.issue_date), default=None)


def lapse_message(policy_set: PolicySet, day: date) -> str | None:
    """Why no document answers `day`, naming the latest one and when it lapsed; None if one is in force."""
    if documents_in_force(policy_set, day):
        return None
    last = _latest_lapsed(policy_set, day)
    if last is not None:
        text = (
            f"{day.isoformat()} 没有有效的政策文件：最近的文件 {last.number}"
            f"（有效期 {last.spec.in_force.start.isoformat()} 至 {last.spec.in_force.end.isoformat()}）"
            f"已于 {last.spec.in_force.end.isoformat()} 到期失效"
        )
        nxt = _earliest_pending(policy_set, day)
        if nxt is not None:
            text += f"；下一份文件 {nxt.number} 自 {nxt.spec.in_force.start.isoformat()} 起施行"
        return text + "。新一年的文件发布后才能按政策匹配和生成奖补。"
    nxt = _earliest_pending(policy_set, day)
    if nxt is not None:
        return (
            f"{day.isoformat()} 没有有效的政策文件：最早的文件 {nxt.number}"
            f" 自 {nxt.spec.in_force.start.isoformat()} 起施行。"
        )
    return f"{day.isoformat()} 没有有效的政策文件：系统中尚无已发布的政策文件。"


def event_warnings(
    policy_set: PolicySet, event_type: str, day: date, type_name: str | None = None
) -> list[str]:
    """Why an event of `event_type` dated `day` can propose no award, if that is known in advance.

    Outside every document's period: the lapse message. Inside, but no document in force has a
    rule for this kind of event: say which documents were looked at.
    """
    lapsed = lapse_message(policy_set, day)
    running = [  # entitlements that run on after their document lapsed (领军人才贴息 3 年内)
        r
        for r in policy_set.rules.values()
        if r.event == event_type
        and r.outlives_period
        and day > policy_set.document_of(r.id).spec.in_force.end
    ]
    if lapsed is not None and running:
        doc = policy_set.document_of(running[0].id)
        return [
            f"{doc.number} 已于 {doc.spec.in_force.end.isoformat()} 失效；“{running[0].subject}”的享受期在文件有效期内开始的企业，"
            f"仍按 {running[0].clause} 计算至期满，否则不生成奖补。"
        ]
    if lapsed is not None:
        return [f"事件日期不在任何政策文件的有效期内，不能按政策生成奖补。{lapsed}"]
    docs = documents_in_force(policy_set, day)
    if not any(r.event == event_type for d in docs for r in d.spec.rules):
        names = "、".join(d.number for d in docs)
        what = type_name or event_type
        return [
            f"{day.isoformat()} 有效的政策文件（{names}）中没有“{what}”事件的奖补条款，不能按政策生成奖补。"
        ]
    return []
