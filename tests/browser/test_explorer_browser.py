"""The augmentation explorer in JupyterLab, driven in headless Chromium as a person would: open the
notebook, Run All Cells, check the layout (the views on top, at least as wide as the controls'
columns, each word view measured on a screenshot well above the ~100 px it used to get), then
change the data source, drag a parameter slider, toggle an operation, click "more samples" (the
screenshot shows more rows) and save the spec (the file loads as the spec on screen). After each
change the displayed views must have changed (the image's bytes and the pixels on screen), exactly
one render must have happened, and no error output, error status or browser console error may
appear. Screenshots of every step go to the test's tmp folder (kept and printed on failure); the
step list with timings is printed at the end."""

from __future__ import annotations

import io
import re
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.browser.views_layout import measure_views

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

NOTEBOOK = "notebooks/augmentation_explorer.ipynb"
# Error outputs: JupyterLab renders both stderr streams and tracebacks with this MIME type, in
# notebook cells and in the log console (where output from widget callbacks goes).
ERROR_OUTPUT = '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'
VIEWS = "img.seqclr-views"
STATUS = ".seqclr-status"
# The layout: a word view drawn at least this wide on screen (it was ~100 px beside the controls).
MIN_VIEW_PX = 180
KERNEL_IDLE_TEXT = re.compile(r"\(ipykernel\) \| Idle")
KERNEL_IDLE_S = 120_000  # ms: the first Run All Cells imports torch and imgaug on a busy 2-core box


# Every control of the explorer's column must be readable: inside the column's box, and no slider
# readout whose text is wider than the readout (measured: ipywidgets' own "overflow" class is set
# once when the view is first displayed, before layout, and goes stale).
CLIPPED_CONTROLS = """() => {
    const col = document.querySelector(".seqclr-controls").getBoundingClientRect();
    const out = [];
    const sel = ".seqclr-controls .widget-inline-hbox, .seqclr-controls .widget-readout";
    for (const e of document.querySelectorAll(sel)) {
        const r = e.getBoundingClientRect();
        const what = (e.closest(".widget-inline-hbox").innerText || "").replace(/\\s+/g, " ").trim();
        if (r.right > col.right + 0.5) {
            out.push(`${what}: right edge ${r.right.toFixed(0)} > column ${col.right.toFixed(0)}`);
        }
        if (e.classList.contains("widget-readout") && e.scrollWidth > e.clientWidth) {
            out.push(`${what}: readout text cut (${e.scrollWidth} > ${e.clientWidth} px)`);
        }
    }
    return out;
}"""


class Steps:
    """Times each step, screenshots the page after it (and the views image when shown), and on a
    failure adds the screenshot paths and the step list to the error."""

    def __init__(self, page, out_dir: Path) -> None:
        self.page = page
        self.out_dir = out_dir
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.done: list[tuple[str, float]] = []
        self.shots: list[Path] = []

    def add(self, name: str, seconds: float) -> None:
        self.done.append((name, seconds))
        print(f"  {len(self.done):2d}. {name:<58} {seconds:6.1f} s", flush=True)

    def shoot(self, name: str) -> Path:
        path = self.out_dir / f"{len(self.shots) + 1:02d}-{name}.png"
        try:
            self.page.screenshot(path=str(path))
            self.shots.append(path)
        except Exception as err:  # noqa: BLE001 - a missing screenshot must not hide the real error
            print(f"  (screenshot {path.name} failed: {err})")
        return path

    @contextmanager
    def step(self, name: str):
        t0 = time.perf_counter()
        try:
            yield
        except BaseException as err:
            self.shoot("FAILED-" + _slug(name))
            report = f"step {name!r} failed after {time.perf_counter() - t0:.1f} s\n" + self.report()
            print(report, flush=True)
            if hasattr(err, "add_note"):
                err.add_note(report)
            raise
        self.add(name, time.perf_counter() - t0)
        self.shoot(_slug(name))

    def report(self) -> str:
        lines = [f"{i:2d}. {n:<58} {s:6.1f} s" for i, (n, s) in enumerate(self.done, 1)]
        lines.append(f"    {'total':<58} {sum(s for _, s in self.done):6.1f} s")
        lines.append(f"screenshots ({self.out_dir}):")
        lines += [f"  {p}" for p in self.shots]
        return "\n".join(lines)


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-")[:50]


def views_digest(page) -> str:
    """SHA-256 of the PNG bytes the views image currently shows (its blob: URL), once decoded."""
    page.wait_for_function(
        "sel => { const i = document.querySelector(sel); return i && i.complete && i.naturalWidth > 0 }", arg=VIEWS
    )
    return page.evaluate(
        """async sel => {
            const buf = await (await fetch(document.querySelector(sel).src)).arrayBuffer();
            const h = await crypto.subtle.digest("SHA-256", buf);
            return Array.from(new Uint8Array(h), b => b.toString(16).padStart(2, "0")).join("");
        }""",
        VIEWS,
    )


def views_pixels(page, path: Path):
    """Screenshot of the views image as the browser shows it, saved to ``path``; an RGB array."""
    import numpy as np
    from PIL import Image

    png = page.locator(VIEWS).screenshot(path=str(path))
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def render_count(page) -> int:
    text = page.locator(f"{STATUS} .seqclr-render").inner_text()
    return int(text.split()[1])


def wait_for_render(page, n: int, timeout: float = 45_000) -> None:
    """Wait until the status line reports render ``n`` (the kernel drew the change and the browser
    received it) or an error output appears (then fail with it), then for the kernel to go idle."""
    page.wait_for_function(
        """([sel, n, err]) => {
            const e = document.querySelector(sel);
            return (e && parseInt(e.textContent.split(" ")[1]) >= n) || document.querySelector(err) !== null;
        }""",
        arg=[f"{STATUS} .seqclr-render", n, ERROR_OUTPUT],
        timeout=timeout,
    )
    assert_no_error_output(page)
    wait_kernel_idle(page)


def assert_no_error_output(page) -> None:
    errors = page.locator(ERROR_OUTPUT).all_inner_texts()
    assert not errors, "error output in the notebook or the log console:\n" + "\n---\n".join(errors)


def wait_kernel_idle(page, timeout: float = 60_000) -> None:
    """Wait until the status bar shows the notebook's kernel as started and idle."""
    page.locator("#jp-main-statusbar").get_by_text(KERNEL_IDLE_TEXT).wait_for(timeout=timeout)


def status_problems(page) -> str:
    """The explorer's status line minus its render counter: a refused setting or a failed render."""
    text = page.locator(STATUS).inner_text()
    return "\n".join(line for line in text.splitlines() if not line.startswith("render "))


def check_layout(page, pixels) -> dict:
    """The views sit above the controls, the views image is at least as wide as an operation's
    column of controls, and each word view (measured on the screenshot ``pixels`` from the frame
    grid drawn over it) is at least MIN_VIEW_PX wide. Returns the measurements."""
    views = page.locator(VIEWS).bounding_box()
    controls = page.locator(".seqclr-controls").bounding_box()
    column = page.locator(".seqclr-op-blur").bounding_box()
    m = measure_views(pixels)
    sizes = {
        "views_image_px": round(views["width"]),
        "controls_column_px": round(column["width"]),
        "word_view_px": round(m["view_width"]),
        "rows": m["rows"],
        "view_columns": round(m["red_columns"] / 5),  # 5 red frame edges show per view
        "screenshot": pixels.shape[:2],
    }
    assert views["y"] + views["height"] <= controls["y"] + 1, f"the views are not above the controls: {sizes}"
    assert views["width"] >= column["width"], f"views narrower than the controls' column: {sizes}"
    assert sizes["view_columns"] >= 3, f"frame grid not found on the screenshot: {m}"
    assert m["view_width"] >= MIN_VIEW_PX, f"word views drawn {m['view_width']:.0f} px wide (< {MIN_VIEW_PX}): {sizes}"
    assert m["view_width"] * sizes["view_columns"] <= pixels.shape[1], f"measured views wider than the image: {sizes}"
    return sizes


def test_explorer_in_jupyterlab(jupyter_lab, chromium_page, tmp_path):
    page = chromium_page.page
    steps = Steps(page, tmp_path / "screenshots")
    steps.add("start JupyterLab (127.0.0.1, random port and token)", jupyter_lab.start_s)
    steps.add("start headless Chromium (playwright, fresh profile)", chromium_page.start_s)
    print(f"  screenshots: {steps.out_dir}\n  JupyterLab log: {jupyter_lab.log}", flush=True)

    def check_views_changed(before_digest: str, before_pixels, name: str, renders: int):
        """The image bytes and the pixels on screen both changed, after exactly one more render."""
        wait_for_render(page, renders)
        page.wait_for_timeout(500)  # a second, unexpected render would show up here
        assert render_count(page) == renders, f"{name}: expected render {renders}, status shows {render_count(page)}"
        digest = views_digest(page)
        assert digest != before_digest, f"{name}: the views image did not change"
        pixels = views_pixels(page, steps.out_dir / f"views-after-{_slug(name)}.png")
        changed = 1.0 if pixels.shape != before_pixels.shape else float((pixels != before_pixels).any(axis=2).mean())
        assert changed > 0.001, f"{name}: only {changed:.2%} of the displayed views' pixels changed"
        assert not status_problems(page), f"{name}: the status line reports {status_problems(page)!r}"
        print(f"      views: {changed:.1%} of the displayed pixels changed", flush=True)
        return digest, pixels

    try:
        with steps.step("open the notebook, kernel idle"):
            page.goto(f"{jupyter_lab.url}/lab/tree/{NOTEBOOK}?token={jupyter_lab.token}")
            page.locator(".jp-NotebookPanel .jp-Cell").first.wait_for()
            wait_kernel_idle(page, timeout=KERNEL_IDLE_S)

        with steps.step("Run > Run All Cells, wait for the explorer"):
            page.locator("#jp-menu-panel").get_by_role("menuitem", name="Run", exact=True).click()
            page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
            page.locator(VIEWS).wait_for(timeout=KERNEL_IDLE_S)
            wait_for_render(page, 1)
            page.wait_for_timeout(300)
            assert render_count(page) == 1, f"{render_count(page)} renders before any action (expected 1)"
            page.locator(".seqclr-explorer").scroll_into_view_if_needed()
            digest = views_digest(page)
            pixels = views_pixels(page, steps.out_dir / "views-initial.png")
            counts = page.locator(".jp-NotebookPanel .jp-CodeCell .jp-InputPrompt").all_inner_texts()
            assert counts and all("[*]" not in c and "[ ]" not in c for c in counts), f"unfinished cells: {counts}"
            clipped = page.evaluate(CLIPPED_CONTROLS)
            assert not clipped, "controls cut off or overflowing in the explorer's column:\n" + "\n".join(clipped)

        with steps.step("layout: large views above the controls"):
            sizes = check_layout(page, pixels)
            assert sizes["rows"] == 3, f"expected the notebook's 3 samples, measured {sizes}"
            print(f"      layout: {sizes}", flush=True)

        with steps.step("View > Show Log Console (widget callback output)"):
            page.locator("#jp-menu-panel").get_by_role("menuitem", name="View", exact=True).click()
            page.get_by_role("menuitem", name="Show Log Console", exact=True).click()
            page.locator(".jp-LogConsole").first.wait_for()
            page.locator(".seqclr-explorer").scroll_into_view_if_needed()

        with steps.step("change the data source to synthetic-print"):
            page.locator(".seqclr-source select").select_option("synthetic-print")
            digest, pixels = check_views_changed(digest, pixels, "data source", 2)

        with steps.step("drag blur sigma's upper handle to the right"):
            slider = page.locator(".seqclr-range-blur-sigma")
            slider.scroll_into_view_if_needed()  # the controls are below the views
            readout = slider.locator(".widget-readout")
            before = readout.inner_text()
            handle = slider.locator(".noUi-handle-upper").bounding_box()
            track = slider.locator(".noUi-base").bounding_box()
            x, y = handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2
            target = track["x"] + 0.8 * track["width"]  # ~2.4 of 3.0
            page.mouse.move(x, y)
            page.mouse.down()
            page.mouse.move(target, y, steps=8)
            page.mouse.up()
            after = readout.inner_text()
            assert after != before, f"the sigma readout stayed {before!r} after the drag"
            digest, pixels = check_views_changed(digest, pixels, "blur sigma", 3)
            print(f"      sigma readout: {before} -> {after}", flush=True)

        with steps.step("toggle the flip operation on"):
            box = page.locator(".seqclr-toggle-flip input[type=checkbox]")
            assert not box.is_checked()
            box.click()
            assert box.is_checked()
            digest, pixels = check_views_changed(digest, pixels, "flip", 4)

        with steps.step("click more samples: more rows of views"):
            rows = measure_views(pixels)["rows"]
            height = page.locator(VIEWS).bounding_box()["height"]
            page.locator(".seqclr-more").click()
            digest, pixels = check_views_changed(digest, pixels, "more samples", 5)
            sizes = check_layout(page, pixels)
            assert sizes["rows"] == rows + 3, f"rows {rows} -> {sizes['rows']} after more samples (+3)"
            assert page.locator(VIEWS).bounding_box()["height"] > height * 1.5
            print(f"      rows {rows} -> {sizes['rows']}; layout: {sizes}", flush=True)

        with steps.step("save spec: the YAML loads as the spec on screen"):
            from seqclr.augment.spec import load_spec, seqclr_spec

            target = tmp_path / "saved" / "explored.yaml"
            page.locator(".seqclr-spec-file input").fill(str(target))
            page.locator(".seqclr-save").click()
            saved = page.locator(".seqclr-save-status")
            saved.get_by_text("saved to").wait_for(timeout=30_000)
            assert str(target) in saved.inner_text(), saved.inner_text()
            spec = load_spec(target)
            shown = [float(v) for v in re.findall(r"\d+\.\d+", readout.inner_text())]
            sigma = spec["blur"].params["sigma"]
            assert len(shown) == 2 and all(abs(a - b) < 6e-4 for a, b in zip(sigma, shown)), (sigma, shown)
            assert spec["flip"].enabled
            preset = seqclr_spec()
            assert spec.replace("blur", sigma=preset["blur"].params["sigma"]).replace("flip", enabled=False) == preset
            assert render_count(page) == 5  # saving draws nothing
            print(f"      saved {target}: blur sigma {sigma}, flip on", flush=True)

        with steps.step("no error output, no console error"):
            page.locator(".jp-LogConsole").first.scroll_into_view_if_needed()
            assert_no_error_output(page)
            console = chromium_page.console_errors
            assert not console, "browser console errors:\n" + "\n".join(console)
    except BaseException:
        print(f"JupyterLab log tail ({jupyter_lab.log}):\n{jupyter_lab.log_tail()}", flush=True)
        raise
    print("\n" + steps.report(), flush=True)
