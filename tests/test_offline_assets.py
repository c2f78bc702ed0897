"""A favicon is served, and /api/docs loads nothing from the internet (the intranet has none)."""

import re


def test_favicon_is_served(client):
    r = client.get("/favicon.ico")
    assert r.status_code == 200 and r.headers["content-type"].startswith("image/svg+xml")
    page = client.get("/login").text
    assert '<link rel="icon" href="/favicon.ico"' in page


def test_api_docs_load_nothing_from_the_internet(client):
    page = client.get("/api/docs").text
    urls = re.findall(r'(?:src|href)\s*=\s*["\']([^"\']+)', page) + re.findall(r"url:\s*'([^']+)'", page)
    assert urls and not [u for u in urls if u.startswith(("http://", "https://", "//"))], urls
    assert "/favicon.ico" in page
