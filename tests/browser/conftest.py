"""Fixtures of the browser tests: a throw-away JupyterLab server and a headless Debian Chromium
driven by playwright (never a downloaded browser).

These tests run only when asked for with ``-m browser`` (``make test-browser``); any other pytest
run deselects them, so ``make test`` never starts a browser.

Everything the server writes (config, runtime, settings, workspaces, the notebook copy, its log)
stays in the test's tmp folder, and the server, its kernels and the browser are stopped at
teardown, also when the test fails.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("SEQCLR_CHROMIUM", "/usr/bin/chromium"))
INSTALL_HINT = "run tests/browser/install_chromium.sh (make test-browser does) or set SEQCLR_CHROMIUM"
# Headless, no sandbox (root in CI), and no background traffic: the network is closed, and without
# these Chromium keeps trying (and logging) component updates, sync and QUIC connections.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SERVER_START_S = 90.0


def _browser_requested(config: pytest.Config) -> bool:
    """True when the -m expression asks for the browser marker (``not browser`` does not)."""
    expr = config.getoption("markexpr") or ""
    return bool(re.search(r"\bbrowser\b", re.sub(r"\bnot\s+browser\b", "", expr)))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if _browser_requested(config):
        return
    keep = [item for item in items if item.get_closest_marker("browser") is None]
    if len(keep) != len(items):
        config.hook.pytest_deselected(items=[item for item in items if item.get_closest_marker("browser")])
        items[:] = keep


@dataclass
class Lab:
    """A running JupyterLab: ``url`` (with no token), its ``token``, the ``root`` it serves and its
    ``log`` file; ``start_s`` is how long it took to answer."""

    url: str
    token: str
    root: Path
    log: Path
    start_s: float

    def log_tail(self, n: int = 40) -> str:
        lines = self.log.read_text(errors="replace").splitlines() if self.log.exists() else []
        return "\n".join(lines[-n:])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _kernel_pids(runtime_dir: Path) -> list[int]:
    """Kernels this server started: their command line names a connection file in our runtime dir."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if str(runtime_dir) in cmd and "kernel" in cmd:
            pids.append(int(proc.name))
    return pids


def _stop(proc: subprocess.Popen, runtime_dir: Path) -> None:
    """SIGTERM the server's process group (it shuts its kernels down), SIGKILL what is left."""
    kernels = _kernel_pids(runtime_dir)
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(timeout=5)
    # Kernels run in their own sessions (jupyter_client starts them so); kill any the server left.
    for pid in kernels + _kernel_pids(runtime_dir):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


@pytest.fixture
def jupyter_lab(tmp_path: Path):
    """JupyterLab on 127.0.0.1, a random free port and a random token, serving a copy of the
    explorer notebook (and its paired .py source) so that running it never touches the repo."""
    base = tmp_path / "lab"
    root = base / "root"
    (root / "notebooks").mkdir(parents=True)
    for name in ("augmentation_explorer.ipynb", "augmentation_explorer.py"):
        shutil.copy2(REPO / "notebooks" / name, root / "notebooks" / name)
    env = dict(os.environ, JUPYTER_PLATFORM_DIRS="1", PYTHONUNBUFFERED="1")
    for var, sub in [
        ("JUPYTER_CONFIG_DIR", "config"),
        ("JUPYTER_DATA_DIR", "data"),
        ("JUPYTER_RUNTIME_DIR", "runtime"),
        ("JUPYTERLAB_SETTINGS_DIR", "settings"),
        ("JUPYTERLAB_WORKSPACES_DIR", "workspaces"),
        ("IPYTHONDIR", "ipython"),
        ("MPLCONFIGDIR", "matplotlib"),
    ]:
        (base / sub).mkdir()
        env[var] = str(base / sub)
    # No news or update check: both would try the network (closed here) and pop up a toast.
    notification = base / "settings" / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    notification.parent.mkdir(parents=True)
    notification.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))

    port, token = _free_port(), secrets.token_hex(24)
    cmd = [
        sys.executable, "-m", "jupyterlab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--LabApp.news_url=",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.extension_manager=readonly",  # the default 'pypi' manager queries PyPI
    ]  # fmt: skip
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    log = base / "jupyterlab.log"
    t0 = time.perf_counter()
    with open(log, "w") as out:
        proc = subprocess.Popen(
            cmd,
            cwd=root,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: teardown stops the server and its children
        )
    lab = Lab(url=f"http://127.0.0.1:{port}", token=token, root=root, log=log, start_s=0.0)
    try:
        while True:
            if proc.poll() is not None:
                pytest.fail(f"JupyterLab exited with {proc.returncode} before answering; {log}:\n{lab.log_tail()}")
            try:
                with urllib.request.urlopen(f"{lab.url}/api/status?token={token}", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.perf_counter() - t0 > SERVER_START_S:
                pytest.fail(
                    f"JupyterLab did not answer on {lab.url} within {SERVER_START_S:.0f} s; {log}:\n{lab.log_tail()}"
                )
            time.sleep(0.25)
        lab.start_s = time.perf_counter() - t0
        yield lab
    finally:
        _stop(proc, base / "runtime")


@dataclass
class Browser:
    """The page and what the browser reported: ``console_errors`` (console.error and uncaught
    page errors, as text)."""

    page: object
    console_errors: list[str]
    start_s: float


@pytest.fixture
def chromium_page(tmp_path: Path):
    """A playwright page in Debian's headless Chromium with a fresh profile under tmp_path; console
    errors and uncaught page errors are collected."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: {INSTALL_HINT}")
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install seqclr[browser] (playwright)")
    t0 = time.perf_counter()
    pw = sync_api.sync_playwright().start()
    context = None
    try:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1500, "height": 1100},
            timeout=60_000,
        )
        page = context.pages[0] if context.pages else context.new_page()
        page.set_default_timeout(60_000)
        errors: list[str] = []

        def on_console(msg) -> None:
            # Every console.error counts: none is filtered (none appeared from outside the page,
            # since the network flags above keep Chromium quiet and the server runs no news check).
            if msg.type == "error":
                errors.append(f"console.error: {msg.text} ({msg.location.get('url', '')})")

        page.on("console", on_console)
        page.on("pageerror", lambda err: errors.append(f"pageerror: {err}"))
        yield Browser(page=page, console_errors=errors, start_s=time.perf_counter() - t0)
    finally:
        if context is not None:
            context.close()
        pw.stop()
