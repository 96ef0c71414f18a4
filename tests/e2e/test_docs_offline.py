"""``/docs`` and ``/redoc`` work with no internet: every asset they reference comes from the node (HTTP check of
the pages and of each asset), and a real Chromium, with every host but 127.0.0.1 unresolvable, renders both pages
while the page itself asks nothing of any other host (its requests, read from Chromium's net log)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
import pytest

from tests.e2e.lgsp import Node, running_node
from tests.services import REQUIRE

pytestmark = pytest.mark.e2e
PAGES = ("/docs", "/redoc")
REFERENCE = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']|url\(\s*["']?([^"')]+)["']?\s*\)""")
CDN_HOSTS = ("cdn.", "fonts.googleapis.com", "fonts.gstatic.com", "unpkg.com", "jsdelivr.net", "cdnjs.")


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    with running_node(tmp_path_factory.mktemp("docs")) as running:
        yield running


def external(reference: str, base: str) -> bool:
    return urlsplit(urljoin(base, reference)).netloc not in ("", urlsplit(base).netloc)


@pytest.mark.parametrize("page", PAGES)
def test_every_asset_a_docs_page_references_comes_from_the_node(node: Node, page: str) -> None:
    html = httpx.get(f"{node.url}{page}")
    assert html.status_code == 200
    assert not re.search(r"https?://|//[a-z]", html.text.replace("window.location.origin", "")), html.text
    assets = [a or b for a, b in REFERENCE.findall(html.text)]
    assert any(a.endswith(".js") for a in assets), assets
    for asset in assets:
        assert not external(asset, node.url), asset
        fetched = httpx.get(urljoin(f"{node.url}{page}", asset))
        assert fetched.status_code == 200 and fetched.content, asset
        if asset.endswith(".css"):  # what a stylesheet loads (fonts, images) must be the node's too
            assert not [u for _, u in REFERENCE.findall(fetched.text) if u and external(u, node.url)]
        if asset.endswith(".js"):  # no script or font pulled from a CDN at run time
            assert not [h for h in CDN_HOSTS if re.search(rf"https?://{re.escape(h)}", fetched.text)], asset
    licences = Path(__file__).resolve().parents[2] / "services/api/static/docs"
    assert (licences / "swagger-ui/LICENSE").is_file() and (licences / "redoc/LICENSE").is_file()


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        message = "Chromium is not installed (Debian package chromium; infra/ci-install.sh installs it)"
        pytest.fail(message) if REQUIRE else pytest.skip(message)
    return str(found)


@pytest.mark.parametrize(("page", "rendered"), [("/docs", 'data-path="/api/v1/token"'), ("/redoc", 'id="operation/')])
def test_a_browser_with_no_internet_renders_the_page(node: Node, page: str, rendered: str, tmp_path: Path) -> None:
    netlog = tmp_path / "netlog.json"
    dom = subprocess.run(
        [
            chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-default-apps",
            "--disable-extensions",
            "--disable-features=AutofillServerCommunication",
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",  # no name but the node's resolves
            f"--log-net-log={netlog}",
            "--virtual-time-budget=15000",
            "--dump-dom",
            f"{node.url}{page}",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    assert rendered in dom, dom[-2000:]
    log = json.loads(netlog.read_text())
    types = {number: name for name, number in log["constants"]["logEventTypes"].items()}
    page_requests = [  # requests made for the page (the browser's own update checks have another isolation key)
        event["params"]["url"]
        for event in log["events"]
        if types[event["type"]] == "URL_REQUEST_START_JOB"
        and event.get("params", {}).get("network_isolation_key", "").startswith("http://127.0.0.1")
    ]
    assert f"{node.url}{page}" in page_requests and f"{node.url}/openapi.json" in page_requests
    assert all(urlsplit(url).hostname == "127.0.0.1" for url in page_requests), page_requests
