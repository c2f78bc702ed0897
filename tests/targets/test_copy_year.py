"""复制上年目标表为下年草稿 on /targets: the new year defaults to the first year after today's with no table
(2027 on 2026-11-30, not the source's year + 1), and stays editable."""

import re
from datetime import date

from tests.conftest import bearer, login


def _default_year(page: str) -> int:
    form = page.split('id="copy-form"')[1].split("</form>")[0]
    return int(re.search(r'<input name="year" value="(\d+)"', form).group(1))


def test_the_copied_tables_year_defaults_to_the_next_year_without_a_table(client, make, reference):
    login(client, make.user(role="county_admin"))
    nxt = date.today().year + 1  # no table after 2023 yet
    page = client.get("/targets").text
    assert _default_year(page) == nxt and f"冠政办发〔{nxt}〕X号" in page
    # that year now has a draft: the default moves on to the year after
    key = make.api_key(scopes=["targets:read", "targets:write"])
    r = client.post(
        "/api/v1/targets/2023/copy",
        headers=bearer(key),
        json={"year": nxt, "document": f"冠政办发〔{nxt}〕1号"},
    )
    assert r.status_code == 201, r.text
    assert _default_year(client.get("/targets").text) == nxt + 1
    # still editable: the year typed is the year copied to, and a bad year is named on the form
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/targets").text).group(1)
    done = client.post(
        "/targets/copy",
        data={"csrf_token": csrf, "source": "2023", "year": str(nxt + 3), "document": "冠政办发〔X〕2号"},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == f"/targets/{nxt + 3}/draft"
    bad = client.post(
        "/targets/copy",
        data={"csrf_token": csrf, "source": "2023", "year": "下年", "document": "冠政办发〔X〕3号"},
    )
    assert (
        bad.status_code == 422 and "请填写年度" in bad.text and '<input name="year" value="下年"' in bad.text
    )
