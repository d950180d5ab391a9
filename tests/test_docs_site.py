"""The documentation site builds strictly from a clean tree, and its pages render in a browser.

One strict build (``python -m mkdocs build --strict``, the gallery at the small size) is
shared by the module: a broken link, a missing API reference or a failing gallery script
fails it. Then the built pages are checked as a reader gets them: headless Chromium (Debian's
``chromium``; CI installs it) loads a formula page and a gallery page from the file system,
and a small script added to a copy of each page reports, after MathJax has finished, whether
every formula was typeset (no raw TeX left in the text) and every image loaded
(``naturalWidth > 0``); a screenshot of each page must not be blank.
"""

from __future__ import annotations

import html
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType, SimpleNamespace

import numpy as np
import pytest

pytestmark = pytest.mark.docs

ROOT = Path(__file__).resolve().parents[1]
HOOKS = ROOT / "docs_hooks"
BUILD_TIMEOUT = 600  # seconds; the small gallery takes about a minute on 2 cores
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
    "--virtual-time-budget=20000",  # ms of page time: MathJax typesets well within it
]
# Added before </body> of a copy of a page: after MathJax's first typeset, write what the
# reader sees into <pre id="tf-check"> (read back from --dump-dom).
CHECK_SCRIPT = """
<script>
window.addEventListener("load", async () => {
  if (window.MathJax && MathJax.startup) { await MathJax.startup.promise; }
  const article = document.querySelector("article");
  const text = article.cloneNode(true);
  text.querySelectorAll("pre, code, script, style, mjx-container").forEach(e => e.remove());
  const report = {
    formulas: article.querySelectorAll(".arithmatex").length,
    typeset: article.querySelectorAll(".arithmatex mjx-container").length,
    errors: article.querySelectorAll("mjx-merror, [data-mjx-error]").length,
    text: text.textContent,
    images: [...article.querySelectorAll("img")].map(
      i => ({src: i.getAttribute("src"), width: i.naturalWidth, loaded: i.complete})),
  };
  const out = document.createElement("pre");
  out.id = "tf-check";
  out.textContent = JSON.stringify(report);
  document.body.appendChild(out);
});
</script>
"""
RAW_TEX = re.compile(r"\\\(|\\\)|\\\[|\\\]|\$\$|\\frac|\\sqrt|\\mathrm")


def _require_docs_extra() -> None:
    """Skip without the docs extra (mkdocs and friends) — but never in CI, which installs it."""
    if importlib.util.find_spec("mkdocs") is None:
        if os.environ.get("CI"):
            pytest.fail('the docs extra is missing in CI: .ci/run installs ".[test,docs]"')
        pytest.skip('the docs extra is not installed: pip install -e ".[docs]"')


def _hook(name: str) -> ModuleType:
    """A module of docs_hooks/ (MkDocs loads them by path; so do we)."""
    spec = importlib.util.spec_from_file_location(f"docs_hook_{name}", HOOKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    _require_docs_extra()
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "THREEFACTORS_GALLERY_SIZE": "small", "NO_MKDOCS_2_WARNING": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return out


@pytest.fixture(scope="module")
def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing in CI: .ci/run installs it (apt-get install chromium)")
        pytest.skip("headless Chromium not installed (apt-get install chromium)")
    return path


def _browse(chromium: str, profile: Path, *args: str) -> str:
    done = subprocess.run(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def _rendered(chromium: str, page: Path, tmp_path: Path) -> dict:
    """What a reader's browser shows of ``page``: the check script's report."""
    probe = page.with_name("tf-check.html")
    probe.write_text(page.read_text(encoding="utf-8").replace("</body>", CHECK_SCRIPT + "</body>"))
    dom = _browse(chromium, tmp_path / "profile", "--dump-dom", probe.as_uri())
    found = re.search(r'<pre id="tf-check">(.*?)</pre>', dom, re.S)
    assert found, "the check script did not report (page failed to load?)"
    return json.loads(html.unescape(found.group(1)))


def _screenshot(chromium: str, page: Path, tmp_path: Path) -> np.ndarray:
    import matplotlib.image

    shot = tmp_path / f"{page.parent.name}.png"
    _browse(
        chromium, tmp_path / "profile", "--window-size=1280,1600", f"--screenshot={shot}",
        page.as_uri(),
    )  # fmt: skip
    return matplotlib.image.imread(shot)


# ----------------------------------------------------------------------------- the build


def test_every_page_is_built(site: Path) -> None:
    gallery = sorted(p.stem for p in (ROOT / "examples" / "gallery").glob("*.py"))
    pages = ["getting-started", "theory", "statistics", "cli", "report", "gallery"]
    pages += [f"api/{v}" for v in ("tf", "theory", "simulate", "empirical", "statistics")]
    pages += [f"gallery/{stem}" for stem in gallery]
    assert (site / "index.html").is_file()
    for page in pages:
        assert (site / page / "index.html").is_file(), page


def test_the_site_needs_no_network(site: Path) -> None:
    assert (site / "assets" / "mathjax" / "tex-svg-full.js").stat().st_size > 100_000
    for page in site.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        remote = re.findall(r'<(?:script|link)[^>]+(?:src|href)="(?:https?:)?//[^"]+"', text)
        assert not remote, (page, remote)


def test_api_reference_documents_every_export(site: Path) -> None:
    for view in ("theory", "simulate", "empirical"):
        text = (site / "api" / view / "index.html").read_text(encoding="utf-8")
        exports = importlib.import_module(f"threefactors.{view}").__dict__["_EXPORTS"]
        for name, module in exports.items():
            assert f'id="{module}.{name}"' in text, (view, name)
    theory = (site / "api" / "theory" / "index.html").read_text(encoding="utf-8")
    assert "temperature" in theory and "SGDSetting" in theory  # types in the signatures
    assert ":func:" not in theory  # Sphinx roles rendered as code


def test_cli_reference_has_every_command_with_its_help(site: Path) -> None:
    from threefactors.cli import build_parser

    text = html.unescape((site / "cli" / "index.html").read_text(encoding="utf-8"))
    commands = _hook("cli_page").subcommands(build_parser())
    progs = [parser.prog for parser in commands]
    assert {
        "threefactors derive",
        "threefactors simulate langevin",
        "threefactors reproduce",
    } <= set(progs)
    for parser in commands:
        assert parser.prog in text
        for action in parser._actions:
            for flag in action.option_strings:
                assert flag in text, (parser.prog, flag)


def test_gallery_pages_show_output_and_figures(site: Path) -> None:
    for script in sorted((ROOT / "examples" / "gallery").glob("*.py")):
        page = site / "gallery" / script.stem / "index.html"
        text = page.read_text(encoding="utf-8")
        assert "size <strong>small</strong>" in text
        assert '<h2 id="output">' in text, script.name  # every example prints
        figures = re.findall(r'<img[^>]+src="([^"]+\.png)"', text)
        assert figures, script.name
        for src in figures:
            assert (page.parent / src).resolve().is_file(), (script.name, src)


def test_report_page_is_the_committed_report_with_its_figures(site: Path) -> None:
    report = (ROOT / "figures" / "REPORT.md").read_text(encoding="utf-8")
    text = html.unescape((site / "report" / "index.html").read_text(encoding="utf-8"))
    headings = re.findall(r"^## (.+)$", report, re.M)
    assert headings
    for heading in headings:
        assert heading.split(":")[0] in text
    for name in _hook("report_page").linked_files(report):
        assert (site / "report" / name).is_file(), name


# ----------------------------------------------------------------------------- the hooks


def test_a_failing_gallery_script_fails_the_build(tmp_path: Path) -> None:
    _require_docs_extra()
    from mkdocs.exceptions import PluginError

    gallery = _hook("gallery_pages")
    script = tmp_path / "broken.py"
    script.write_text('"""A broken example."""\nprint("before")\nraise ValueError("planted")\n')
    with pytest.raises(PluginError, match=r"(?s)broken\.py failed.*planted"):
        gallery.run(script, tmp_path, "small")


def test_a_gallery_page_has_text_code_output_math_and_figures(tmp_path: Path) -> None:
    _require_docs_extra()
    gallery = _hook("gallery_pages")
    script = tmp_path / "demo.py"
    script.write_text(
        '"""A demo.\n\nIt draws.\n"""\n\nimport os\n\nimport matplotlib.pyplot as plt\n\n'
        'print("size", os.environ["THREEFACTORS_GALLERY_SIZE"])\nprint("$$ x^2 $$")\n'
        "plt.plot([0, 1])\nplt.show()\nplt.plot([1, 0])\n"
    )
    example = gallery.run(script, tmp_path, "small")
    assert example.title == "A demo" and example.text == "It draws."
    assert example.output.splitlines() == ["size small", "$$ x^2 $$"]
    assert list(example.figures) == ["demo_1.png", "demo_2.png"]  # at show() and at the end
    assert all(png.startswith(b"\x89PNG") for png in example.figures.values())
    page = gallery.page(example, "small")
    assert page.startswith("# A demo\n")
    assert "```python\nimport os" in page and '"""' not in page
    assert "$$\nx^2\n$$" in page
    assert "![A demo, figure 2](demo_2.png)" in page


def test_docstring_roles_become_code_and_theory_citations_links() -> None:
    _require_docs_extra()
    markup = _hook("griffe_docstrings").site_markup
    text = "See :func:`langevin`, :class:`~threefactors.theory.setting.SGDSetting`, :mod:`.sgd`."
    assert markup(text) == "See `langevin`, `SGDSetting`, `.sgd`."
    cited = '(docs/theory.md,\n    "Fokker–Planck and the Gibbs law")'
    assert markup(cited) == (
        '([docs/theory.md,\n    "Fokker–Planck and the Gibbs law"][fokkerplanck-and-the-gibbs-law])'
    )


def test_report_legend_and_links_are_read_from_the_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _require_docs_extra()
    report = _hook("report_page")
    text = (
        "# Report\n\nScale: quick.\n\nA claim's verdict is its primary test's.\n\n"
        "| a | b |\n|---|---|\n\n![fig](a.png) [data](a.json) [web](https://x.org/y.png)\n"
    )
    assert report.legend(text) == "A claim's verdict is its primary test's."
    assert report.linked_files(text) == ["a.json", "a.png"]
    page = SimpleNamespace(file=SimpleNamespace(src_uri="getting-started.md"))
    monkeypatch.setattr(report, "REPORT", tmp_path / "REPORT.md")
    report.REPORT.write_text(text)
    shown = report.on_page_markdown("Words:\n\n<!-- report-legend -->\n", page, None, None)
    assert shown == "Words:\n\n> A claim's verdict is its primary test's.\n"
    report.REPORT.write_text("# Report\n\nNo legend here.\n\n| a |\n|---|\n")  # a new format
    shown = report.on_page_markdown("<!-- report-legend -->", page, None, None)
    assert shown == "> See the opening of the [claims report](report/index.md)."


# ----------------------------------------------------------------------------- the browser


@pytest.mark.parametrize(
    ("page", "min_formulas", "min_images"),
    [("theory", 8, 0), ("gallery/01_derive_sde", 3, 1)],
)
def test_pages_render_their_math_and_figures_in_chromium(
    site: Path, chromium: str, tmp_path: Path, page: str, min_formulas: int, min_images: int
) -> None:
    html_page = site / page / "index.html"
    seen = _rendered(chromium, html_page, tmp_path)
    assert seen["formulas"] >= min_formulas
    assert seen["typeset"] == seen["formulas"], seen  # every formula typeset by MathJax
    assert seen["errors"] == 0
    raw = RAW_TEX.findall(seen["text"])
    assert not raw, f"raw TeX left in the text: {raw[:5]}"
    assert len(seen["images"]) >= min_images
    for image in seen["images"]:
        assert image["loaded"] and image["width"] > 0, image
    pixels = _screenshot(chromium, html_page, tmp_path)
    assert pixels.shape[1] == 1280
    assert pixels[..., :3].std() > 0.05  # not a blank page
