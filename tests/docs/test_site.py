"""The docs site: generated pages are current, every page is in the nav, the build is strict
and offline, the configuration stays within what Zensical reads, and the README stays short.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
README = (ROOT / "README.md").read_text(encoding="utf-8")
# plugins Zensical implements natively or through their own package (its compatibility notes)
ZENSICAL_PLUGINS = {"search", "mkdocstrings", "tags", "offline", "blog", "privacy", "social", "minify"}


def _generator():
    spec = importlib.util.spec_from_file_location("docs_generate", DOCS / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _config() -> dict:
    # mkdocs.yml may hold !!python tags in other projects; this one is plain YAML
    return yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))


def _nav_files(nav) -> list[str]:
    files: list[str] = []
    for entry in nav:
        value = next(iter(entry.values())) if isinstance(entry, dict) else entry
        files += _nav_files(value) if isinstance(value, list) else [value]
    return files


def test_generated_pages_are_current():
    stale = [str(p.relative_to(ROOT)) for p in _generator().stale_pages()]
    assert not stale, f"stale generated pages {stale}: run `python docs/generate.py`"


def test_the_generator_notices_a_stale_page(tmp_path, monkeypatch):
    generator = _generator()
    page = tmp_path / "measures.md"
    page.write_text(generator.measures_page().replace("proxy reward", "proxy"), encoding="utf-8")
    monkeypatch.setattr(generator, "pages", lambda: {page: generator.measures_page()})
    assert generator.stale_pages() == [page]
    assert generator.main(["--check"]) == 1
    assert generator.main([]) == 0
    assert generator.stale_pages() == []


def test_measures_page_has_every_registered_measure():
    from sociosim.model.measures import MEASURES

    text = (DOCS / "measures.md").read_text(encoding="utf-8")
    for measure in MEASURES:
        column = measure.name.replace("{c}", "<c>").replace("{l}", "<l>")
        assert f"| `{column}` |" in text, column


def test_cli_page_has_every_command_and_option():
    import typer.main

    from sociosim.cli import app

    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    for name, command in typer.main.get_command(app).commands.items():
        assert f"## `sociosim {name}`" in text
        for param in command.params:
            if param.param_type_name == "option" and param.name != "help":
                assert f"`{param.opts[0]}`" in text, (name, param.opts)


def test_every_page_is_in_the_nav_and_every_nav_entry_exists():
    nav = _nav_files(_config()["nav"])
    pages = sorted(p.name for p in DOCS.glob("*.md"))
    assert sorted(nav) == pages
    assert len(nav) == len(set(nav))


def test_configuration_is_offline_and_zensical_compatible():
    config = _config()
    assert config["theme"]["name"] == "material"
    assert config["theme"]["font"] is False  # no fonts fetched from a CDN
    assert "hooks" not in config  # Zensical runs no MkDocs hooks
    assert "analytics" not in str(config.get("extra", {}))
    plugins = {next(iter(p)) if isinstance(p, dict) else p for p in config["plugins"]}
    assert plugins <= ZENSICAL_PLUGINS, plugins - ZENSICAL_PLUGINS
    handler = config["plugins"][1]["mkdocstrings"]["handlers"]["python"]
    assert "inventories" not in handler  # an inventory is fetched over the network


def test_docs_say_how_to_switch_to_zensical():
    text = (DOCS / "development.md").read_text(encoding="utf-8")
    assert "zensical build" in text and "zensical serve" in text


def test_site_builds_strictly_and_offline(tmp_path):
    pytest.importorskip("mkdocs")
    pytest.importorskip("mkdocstrings_handlers.python")
    site = tmp_path / "site"
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={
            "PATH": "/usr/bin:/bin",
            "PYTHONPATH": str(ROOT),
            "NO_MKDOCS_2_WARNING": "1",
            "HOME": str(tmp_path),
        },
    )
    assert done.returncode == 0, done.stderr[-3000:]
    api = (site / "api" / "index.html").read_text(encoding="utf-8")
    for name in ("run_batch", "AlignmentModel", "compare_policies", "open_store"):
        assert 'id="sociosim.' in api and name in api, name
    hosts = ("fonts.googleapis.com", "fonts.gstatic.com", "googletagmanager", "google-analytics")
    for html in site.rglob("*.html"):
        text = html.read_text(encoding="utf-8")
        assert not any(h in text for h in hosts), html


def test_readme_is_short_and_links_into_the_docs():
    assert README.count("\n") <= 200
    for needle in ("bash scripts/main.sh", "bash scripts/test.sh", "import sociosim", "sociosim batch"):
        assert needle in README
    links = re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", README)
    assert "docs/getting-started.md" in links and "docs/api.md" in links
    for link in links:
        assert (ROOT / link).exists(), f"README links to missing {link}"
    assert (ROOT / "docs" / "assets" / "goodhart.png").is_file()


def test_readme_has_no_uninstallable_pip_command():
    """sociosim is not on a package index: extras are installed from the checkout."""
    for page in [ROOT / "README.md", *DOCS.glob("*.md")]:
        text = page.read_text(encoding="utf-8")
        assert not re.search(r"pip install ['\"]?sociosim\[", text), page.name


def test_stated_measure_column_count_is_the_models():
    import sociosim

    columns = len(sociosim.run(steps=1, n_users=60, n_annotators=8, n_responses=32).columns) - 1
    text = (DOCS / "batches.md").read_text(encoding="utf-8")
    assert f"({columns} measure columns with the default 4 cultures and one lab)" in text


def test_every_test_the_reliability_and_speed_pages_name_exists():
    """`file.py::name` (with or without its folder) names a test function that is really there."""
    defined: dict[str, set[str]] = {}
    for path in (ROOT / "tests").rglob("test_*.py"):
        names = set(re.findall(r"^(?:async )?def (test_\w+)\(", path.read_text(encoding="utf-8"), re.M))
        defined.setdefault(path.name, set()).update(names)
    for page in ("reliability.md", "speed.md"):
        text = (DOCS / page).read_text(encoding="utf-8")
        named = re.findall(r"(test_\w+\.py)::(test_\w+)", text)
        # a table cell may go on with further names of the same file: `a.py::x`, `y`
        named += [
            (file, extra)
            for file, rest in re.findall(r"(test_\w+\.py)::test_\w+`((?:, `test_\w+`)+)", text)
            for extra in re.findall(r"`(test_\w+)`", rest)
        ]
        assert page != "reliability.md" or len(named) >= 20
        missing = [f"{file}::{name}" for file, name in named if name not in defined.get(file, set())]
        assert not missing, f"{page} names tests that do not exist: {missing}"
