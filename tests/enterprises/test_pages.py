"""Registry pages, rendered: list with htmx search, detail tabs, forms with inline Chinese errors."""

from sqlalchemy import func, select

from app.enterprises.models import Enterprise
from tests.conftest import login


def test_list_page_and_htmx_fragment(client, make):
    make.enterprise(name="冠县恒通轴承有限公司", figures=[{"year": 2024, "revenue_yuan": 16_500_000}])
    login(client, make.user())
    page = client.get("/enterprises")
    assert page.status_code == 200 and "<html" in page.text and "企业名录" in page.text
    assert "1,650.00" in page.text  # 万元
    frag = client.get("/enterprises", params={"q": "恒通"}, headers={"HX-Request": "true"})
    assert "<html" not in frag.text and "冠县恒通轴承有限公司" in frag.text
    assert frag.headers["vary"] == "HX-Request"
    none = client.get("/enterprises", params={"q": "不存在的企业"}, headers={"HX-Request": "true"})
    assert "没有符合条件的企业" in none.text


def test_detail_tabs_render_figures_honours_history(client, make):
    ent = make.enterprise(
        figures=[{"year": 2023, "revenue_yuan": 12_000_000, "employees": 40}],
        honours=[
            {
                "code": "specialized_sme",
                "level": "city",
                "honour_date": "2023-09-01",
                "certificate_no": "ZJTX-001",
            }
        ],
    )
    login(client, make.user())
    assert "统一社会信用代码" in client.get(f"/enterprises/{ent.id}").text
    figs = client.get(
        f"/enterprises/{ent.id}", params={"tab": "figures"}, headers={"HX-Request": "true"}
    ).text
    assert "1,200.00" in figs and "40" in figs
    hons = client.get(f"/enterprises/{ent.id}", params={"tab": "honours"}).text
    assert "专精特新中小企业" in hons and "市级" in hons and "ZJTX-001" in hons
    hist = client.get(f"/enterprises/{ent.id}", params={"tab": "history"}).text
    assert "新增" in hist and "系统自动" in hist  # the system acting, in words


def test_create_form_shows_inline_uscc_error_and_writes_nothing(client, make, db):
    token = login(client, make.user())
    n0 = db.scalar(select(func.count()).select_from(Enterprise))
    r = client.post(
        "/enterprises/new",
        headers={"X-CSRF-Token": token, "HX-Request": "true"},
        data={
            "uscc": "91350100M000100Y44",
            "name": "新企业有限公司",
            "township": "qingquan",
            "size": "small",
            "ownership": "private",
        },
    )
    assert r.status_code == 422
    assert "校验位错误" in r.text and 'class="invalid"' in r.text
    assert db.scalar(select(func.count()).select_from(Enterprise)) == n0


def test_inline_uscc_check_as_you_type(client, make):
    token = login(client, make.user())
    r = client.post("/enterprises/validate/uscc", data={"uscc": "123"}, headers={"X-CSRF-Token": token})
    assert "应为 18 位" in r.text
    r = client.post(
        "/enterprises/validate/uscc", data={"uscc": "91350100M000100Y43"}, headers={"X-CSRF-Token": token}
    )
    assert "field-error" in r.text and "应为" not in r.text


def test_create_and_edit_through_forms(client, make, db):
    token = login(client, make.user())
    h = {"X-CSRF-Token": token, "HX-Request": "true"}
    r = client.post(
        "/enterprises/new",
        headers=h,
        data={
            "uscc": "91350100M000100Y43",
            "name": "表单登记有限公司",
            "township": "qingquan",
            "size": "small",
            "ownership": "private",
            "above_scale": "on",
        },
    )
    assert r.headers["hx-redirect"].startswith("/enterprises/")
    ent = db.scalar(select(Enterprise).where(Enterprise.uscc == "91350100M000100Y43"))
    assert ent.above_scale is True
    r = client.post(
        f"/enterprises/{ent.id}/edit",
        headers=h,
        data={
            "version": str(ent.version),
            "uscc": ent.uscc,
            "name": "表单改名有限公司",
            "township": "qingquan",
            "size": "medium",
            "ownership": "private",
        },
        follow_redirects=False,
    )
    assert r.headers["hx-redirect"] == f"/enterprises/{ent.id}"
    db.refresh(ent)
    assert ent.name == "表单改名有限公司" and ent.size == "medium" and ent.above_scale is False


def test_edit_with_stale_version_tells_the_user(client, make):
    ent = make.enterprise()
    token = login(client, make.user())
    r = client.post(
        f"/enterprises/{ent.id}/edit",
        headers={"X-CSRF-Token": token, "HX-Request": "true"},
        data={
            "version": "99",
            "uscc": ent.uscc,
            "name": "过期修改有限公司",
            "township": "qingquan",
            "size": "small",
            "ownership": "private",
        },
    )
    assert r.status_code == 422 and "已被他人修改" in r.text


def test_figures_form_refuses_negative_in_chinese(client, make):
    ent = make.enterprise()
    token = login(client, make.user())
    r = client.post(
        f"/enterprises/{ent.id}/figures",
        headers={"X-CSRF-Token": token, "HX-Request": "true"},
        data={"year": "2024", "revenue_yuan": "-5"},
    )
    assert r.status_code == 422 and "revenue_yuan" in r.text and "不能小于 0" in r.text


def test_not_found_page_is_chinese(client, make):
    login(client, make.user())
    r = client.get("/enterprises/999999")
    assert r.status_code == 404 and "未找到该企业" in r.text


def test_healthz_checks_the_database(client):
    body = client.get("/healthz").json()
    assert (body["status"], body["database"]) == ("ok", "ok")
    assert body["requests"]["waiting"] == 0
