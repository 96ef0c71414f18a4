"""Helpers of the browser tests: Debian's Chromium driven by Playwright (never downloaded), a demo node serving
the web app, accounts, page weights measured by the browser, axe-core."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.e2e.lgsp import THIDUA, Node, running_node
from tests.services import missing
from tests.web_support import NAMES, PASSWORD, PEOPLE

CHROMIUM = os.environ.get("THIDUA_CHROMIUM", "/usr/bin/chromium")
# the flags that work on these machines (closed network: no background fetches, no GPU, no sandbox as root)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
SCREENSHOTS = os.environ.get("THIDUA_WEB_SCREENSHOTS")  # a folder: save a screenshot of every page (docs/img)


def launch(playwright: Any) -> Any:
    """Chromium from the Debian package, launched by its path; a clear skip (a failure in CI) without it."""
    if not Path(CHROMIUM).exists() and not shutil.which(CHROMIUM):
        missing("Chromium", f"{CHROMIUM} not found: apt-get install chromium, or run infra/ci-install.sh")
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


@contextmanager
def chromium() -> Iterator[Any]:
    """One Chromium for a test module (a clear skip without Playwright; a failure in CI)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - the test extra installs it
        missing("Playwright", "pip install -e '.[test]'")
    with sync_playwright() as playwright:
        browser = launch(playwright)
        yield browser
        browser.close()


@contextmanager
def demo_web_node(folder: Path, setup_only: bool = False) -> Iterator[Node]:
    """``thidua demo`` written as the node's own database (``setup_only``: without the year, which the browser then
    works), the people of PEOPLE (and WORKERS), then ``thidua serve``."""
    folder.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("THIDUA_")} | {"THIDUA_DATA_DIR": str(folder)}
    demo = [str(THIDUA), "demo", "--database", str(folder / "thidua.db"), *(["--setup-only"] if setup_only else [])]
    subprocess.run(demo, env=env, check=True, capture_output=True)
    everyone = {**PEOPLE, **EXTRA, **WORKERS}
    names = NAMES | WORKER_NAMES
    people = folder / "people.csv"
    rows = [f"{name},{names[name]},{path},{';'.join(roles)}\n" for name, (path, roles) in everyone.items()]
    people.write_text("username,full_name,org_unit,roles\n" + "".join(rows), encoding="utf-8")
    subprocess.run([str(THIDUA), "users", "import", str(people)], env=env, check=True, capture_output=True)
    for name in everyone:  # set known passwords (the import gave temporary ones)
        subprocess.run(
            [str(THIDUA), "users", "reset-password", name, "--password-stdin"],
            input=PASSWORD + "\n",
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
    subprocess.run([str(THIDUA), "audit", "checkpoint"], env=env, check=True, capture_output=True)  # a signed head
    settings = {"web_signin_backoff_seconds": "0.5", "web_live_poll_seconds": "0.3"}
    with running_node(folder, **settings) as node:
        yield node


EXTRA = {"khoa.thu": ("VN/15", ("auditor",))}  # locked by the wrong-password test only
WORKERS = {  # the people who work the demo's year in the browser (tests/e2e/test_web_work.py)
    "canbo.daison": ("VN/31/11086", ("submitter", "reviewer")),  # commune officer (văn hóa – xã hội)
    "chutich.daison": ("VN/31/11086", ("decider",)),  # commune chair
    "vu.tdkt": ("VN/15", ("submitter", "reviewer", "council")),  # province emulation officer (Ban TĐKT, Sở Nội vụ)
    "chutich.laocai": ("VN/15", ("decider",)),  # province chair
    "nop.hue": ("VN/46", ("submitter",)),  # Huế's office, for its units' reports
}
WORKER_NAMES = {
    "canbo.daison": "Vũ Thị Hằng",
    "chutich.daison": "Nguyễn Văn Sơn",
    "vu.tdkt": "Hoàng Văn Vũ",
    "chutich.laocai": "Trịnh Văn Lâm",
    "nop.hue": "Lê Văn Huy",
}


@dataclass
class Weight:
    """What the browser received for one page: bytes on the wire (compressed, headers included) and requests."""

    page: str
    cold: bool
    bytes: int
    requests: int


class Meter:
    """Counts the bytes the browser receives (Chrome DevTools Protocol), page by page."""

    def __init__(self, context: Any, page: Any) -> None:
        self.cdp = context.new_cdp_session(page)
        self.cdp.send("Network.enable")
        self.received = 0
        self.requests = 0
        self.cdp.on("Network.loadingFinished", self._finished)

    def _finished(self, event: dict[str, Any]) -> None:
        self.received += int(event.get("encodedDataLength", 0))
        self.requests += 1

    def measure(self, page: Any, url: str, cold: bool) -> Weight:
        """Open ``url`` and count what it took until the network is idle."""
        self.received = self.requests = 0
        page.goto(url)
        page.wait_for_load_state("networkidle")
        return Weight(url, cold, self.received, self.requests)


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """Serious and critical accessibility violations axe-core finds on the page (WCAG 2.x A/AA rules)."""
    page.add_script_tag(path=str(AXE))
    found = page.evaluate("""async () => {
        const result = await axe.run(document, {resultTypes: ['violations'],
            runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}});
        return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                            nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
    }""")
    return [v for v in found if v["impact"] in ("serious", "critical")]


def shot(page: Any, name: str) -> None:
    """A full-page screenshot into THIDUA_WEB_SCREENSHOTS (docs/img), when set."""
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"))  # the first screen, as a person sees it


def cells(page: Any, selector: str = "#rollup-table tbody tr") -> list[dict[str, str]]:
    """The data-key cells of the table rows the browser shows, as their visible text."""
    return page.eval_on_selector_all(
        selector,
        """rows => rows.map(r => Object.fromEntries(
        [...r.querySelectorAll('td[data-key]')].map(td => [td.dataset.key, td.innerText.trim()])))""",
    )


def signins(node: Node, username: str) -> list[str]:
    """Outcomes in the sign-in log for ``username`` as ``thidua users signins`` prints them, newest first."""
    out = subprocess.run(
        [str(THIDUA), "users", "signins", username, "--limit", "20"],
        env=node.env | {"COLUMNS": "200"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    outcomes = ("SUCCESS", "FAILED", "THROTTLED", "LOCKED", "DISABLED", "UNLOCKED")
    return [word for line in out.splitlines() for word in line.replace("│", " ").split() if word in outcomes]


def report_weights(weights: list[Weight]) -> str:
    """The weights as a Markdown table (printed by the test, pasted in docs/ui.md)."""
    lines = ["| page | cache | KB on the wire | requests |", "|---|---|---|---|"]
    for w in weights:
        lines.append(f"| `{w.page}` | {'empty' if w.cold else 'warm'} | {w.bytes / 1024:.1f} | {w.requests} |")
    return "\n".join(lines)


def dump(value: Any) -> str:
    """JSON for failure messages."""
    return json.dumps(value, ensure_ascii=False, indent=1)
