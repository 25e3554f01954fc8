"""The repository's own texts: a README that stays short, BENCHMARKS.md that answers "which recipe?" first,
and the license, citation and changelog files that a user or a packager looks for."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: the same parser, as a package
    tomllib = pytest.importorskip("tomli")

REPO = Path(__file__).resolve().parents[1]
MAX_README_WORDS = 1200


def test_readme_has_at_most_1200_words():
    words = len((REPO / "README.md").read_text(encoding="utf-8").split())
    assert words <= MAX_README_WORDS, f"README.md has {words} words (at most {MAX_README_WORDS}): move detail into docs/"


def test_readme_links_to_files_that_exist():
    text = (REPO / "README.md").read_text(encoding="utf-8")
    targets = [t.split("#")[0] for t in re.findall(r"\]\(([^)\s]+)\)", text) if "://" not in t]
    missing = [t for t in targets if t and not (REPO / t).exists()]
    assert not missing, f"README.md links to missing files: {missing}"


def test_benchmarks_opens_with_which_recipe_and_names_every_protocol():
    text = (REPO / "BENCHMARKS.md").read_text(encoding="utf-8")
    headings = re.findall(r"^#+ .*$", text, flags=re.M)
    assert headings[:2] == ["# Benchmarks", "## Which recipe?"], headings[:2]
    which = text.split("## Which recipe?", 1)[1].split("\n## ", 1)[0]
    tables = [m.start() for m in re.finditer(r"^\| recipe \|", which, flags=re.M)]
    assert len(tables) >= 2, "the standard-test table and the random-fold table"
    for start in tables:  # every results table has a protocol paragraph above it, after the previous table
        above = which[:start].rsplit("\n|", 1)[-1]
        assert "Protocol:" in above, f"a table of 'Which recipe?' without its protocol: {which[start:start + 80]!r}"
    for needed in ("ce@equal", "paired", "seeds", "random fold", "15-degree", "Caveats", "plain loop"):
        assert needed in which, f"'Which recipe?' does not mention {needed!r}"


def test_the_dated_record_lives_in_benchmarks_history():
    history = sorted((REPO / "benchmarks" / "history").glob("*.md"))
    assert len(history) >= 5
    assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2}-[a-z0-9-]+\.md", p.name) for p in history), [p.name for p in history]
    assert not list((REPO / "benchmarks").glob("*.md")), "dated records go in benchmarks/history/"
    assert "phase 10" not in (REPO / "BENCHMARKS.md").read_text(encoding="utf-8").lower()


def test_license_is_the_mit_text_that_pyproject_names():
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["license"] == {"text": "MIT"}
    text = (REPO / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License\n") and "Permission is hereby granted, free of charge" in text


def test_citation_cites_the_kit_and_the_paper():
    cff = yaml.safe_load((REPO / "CITATION.cff").read_text(encoding="utf-8"))
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert cff["cff-version"] == "1.2.0" and cff["type"] == "software"
    assert cff["version"] == project["version"] and cff["license"] == "MIT"
    assert cff["title"].startswith("sartail") and cff["authors"]
    (paper,) = cff["references"]
    assert "three-stage training strategy" in paper["title"] and paper["year"] == 2021
    assert "2104.09830" in paper["url"] and paper["doi"] == "10.48550/arXiv.2104.09830"


def test_changelog_follows_keep_a_changelog():
    text = (REPO / "CHANGELOG.md").read_text(encoding="utf-8")
    assert text.startswith("# Changelog\n") and "keepachangelog.com" in text
    versions = re.findall(r"^## \[([^\]]+)\]", text, flags=re.M)
    assert versions and versions[0] == "Unreleased"
    kinds = set(re.findall(r"^### (.+)$", text, flags=re.M))
    assert kinds and kinds <= {"Added", "Changed", "Deprecated", "Removed", "Fixed", "Security"}, kinds


def test_project_urls_are_true_and_the_docs_build_output_is_ignored():
    urls = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["urls"]
    for name, url in urls.items():
        assert url.startswith("https://") or (REPO / url).exists(), f"[project.urls] {name} = {url!r} does not exist"
    ignored = subprocess.run(["git", "check-ignore", "-q", "site/index.html"], cwd=REPO).returncode
    assert ignored == 0, "site/ (mkdocs build output) must be git-ignored"
