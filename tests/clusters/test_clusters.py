"""特色产业集群 as an entity: name, level, date, lead enterprise and member firms; the award goes to the
recorded recipient once (冠政发〔2022〕9号 四（十）, 冠政办发〔2023〕7号 二（四）12)."""

from sqlalchemy import select

from app.awards.models import AwardLine
from app.enterprises.models import Honour
from tests.conftest import bearer


def post(client, key, **body):
    return client.post("/api/v1/clusters", headers=bearer(key), json=body)


def test_a_cluster_pays_its_recipient_once_and_its_members_nothing(client, make, db):
    """冠政发〔2022〕9号 四（十）: 市级评选认定的特色产业集群，县财政一次性最高10万元 — one line, to the recipient."""
    key = make.api_key(scopes=["enterprises:write", "enterprises:read"])
    lead, member, recipient = make.enterprise(), make.enterprise(township="kaifaqu"), make.enterprise()
    r = post(
        client,
        key,
        name="冠县轴承产业集群",
        level="city",
        recognised_date="2023-06-01",
        lead_enterprise_id=lead.id,
        member_enterprise_ids=[member.id],
        recipient_enterprise_id=recipient.id,
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert (
        body["level_name"] == "市级"
        and body["lead"]["id"] == lead.id
        and body["recipient"]["id"] == recipient.id
    )
    assert {m["id"] for m in body["members"]} == {lead.id, member.id, recipient.id}
    lines = db.execute(select(AwardLine.enterprise_id, AwardLine.rule_id, AwardLine.computed_yuan)).all()
    assert lines == [(recipient.id, "gz2022-9.county.cluster.city", 100_000)]
    honours = db.execute(select(Honour.enterprise_id, Honour.code, Honour.level)).all()
    assert honours == [(recipient.id, "cluster", "city")]
    listed = client.get("/api/v1/clusters", headers=bearer(key), params={"year": 2023}).json()
    assert [c["name"] for c in listed] == ["冠县轴承产业集群"]
    assert (
        client.get(f"/api/v1/clusters/{body['id']}", headers=bearer(key)).json()["honour_id"]
        == body["honour_id"]
    )


def test_the_recipient_defaults_to_the_lead_and_a_cluster_is_recorded_once_per_level(client, make, db):
    """冠政办发〔2023〕7号 二（四）12: 省级“特色产业集群”市级最高50万元; the same recognition twice is a 409."""
    key = make.api_key(scopes=["enterprises:write", "enterprises:read"])
    lead = make.enterprise()
    r = post(
        client,
        key,
        name="冠县纺织产业集群",
        level="provincial",
        recognised_date="2023-09-01",
        lead_enterprise_id=lead.id,
    )
    assert r.status_code == 201, r.text
    rules = set(db.scalars(select(AwardLine.rule_id).where(AwardLine.enterprise_id == lead.id)))
    assert rules == {"gz2022-9.county.cluster.provincial", "gzb2023-7.city.cluster.provincial"}
    again = post(
        client,
        key,
        name="冠县纺织产业集群",
        level="provincial",
        recognised_date="2023-10-01",
        lead_enterprise_id=lead.id,
    )
    assert again.status_code == 409 and again.json()["errors"][0]["field"] == "name"


def test_bad_input_names_the_field_and_writes_nothing(client, make, db):
    key = make.api_key(scopes=["enterprises:write", "enterprises:read"])
    lead = make.enterprise()
    r = post(
        client,
        key,
        name="冠县轴承产业集群",
        level="city",
        recognised_date="2023-06-01",
        lead_enterprise_id=lead.id,
        member_enterprise_ids=[999_999],
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "member_enterprise_ids[0]"
    assert (
        post(
            client,
            key,
            name="冠县轴承产业集群",
            level="county",
            recognised_date="2023-06-01",
            lead_enterprise_id=lead.id,
        ).status_code
        == 422
    )
    assert db.scalar(select(AwardLine.id)) is None


def test_a_cluster_cannot_be_recorded_as_a_firms_honour(client, make):
    """The fault this replaces: a cluster recorded on two firms paid and counted twice."""
    key = make.api_key(scopes=["enterprises:write", "enterprises:read"])
    ent = make.enterprise()
    r = client.post(
        f"/api/v1/enterprises/{ent.id}/honours",
        headers=bearer(key),
        json={"code": "cluster", "level": "city", "outcome": "new", "honour_date": "2023-06-01"},
    )
    assert r.status_code == 422
    assert "特色产业集群" in r.json()["errors"][0]["message"] and r.json()["errors"][0]["field"] == "code"


def test_township_staff_cannot_record_clusters(client, make):
    from tests.conftest import login

    user = make.user("township_staff", "qingquan")
    token = login(client, user)
    lead = make.enterprise()
    r = client.post(
        "/api/v1/clusters",
        headers={"X-CSRF-Token": token},
        json={
            "name": "冠县轴承产业集群",
            "level": "city",
            "recognised_date": "2023-06-01",
            "lead_enterprise_id": lead.id,
        },
    )
    assert r.status_code in (401, 403)
