"""No work-log words in what users read: the README, the docs, BENCHMARKS.md's current part, the notebooks,
the library's text and the help of every command.

Dated experiment records live in ``benchmarks/history/`` (a dated Markdown file each) and may use them;
everything else speaks to users about what the kit does and why. Each failure names ``file:line`` and the
words found, so a hit is one search away.

Also: "seed" names the random seed only, never the paper's recipe (that is "the paper's recipe" or
``three_stage``).
"""
from __future__ import annotations

import argparse
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

#: work-log words: a step of the work ("phase 3", "the last round", "night round", "issue 9",
#: "this session"), or a log file's name. ``round(...)`` in code and "the other way round" are not.
PROCESS = re.compile(
    r"\bphases? \d+"
    r"|\b(?:this|last|next|night|previous|earlier|later|that|each|every|first|second|third|same) round\b"
    r"|\brounds? \d+"
    r"|\bissues? #?\d+"
    r"|\bsessions?\b"
    r"|EXPERIMENTS_issue\w*",
    re.IGNORECASE)
#: "seed" naming the paper's recipe ("the seed's three stages", "ablation of the seed", "the seed: Li et al.").
SEED_AS_RECIPE = re.compile(
    r"\bthe seed(?:'s)? (?:\*\*)?(?:three stages|recipe|strategy)"
    r"|\bthe seed:"
    r"|\b(?:of|against|by default) the seed\b(?![ -](?:to|of|for|is|and|value|number|seed|given|set))"
    r"|\bwith the seed\."
    r"|\bthe seed against\b",
    re.IGNORECASE)


def _user_text_files() -> list[Path]:
    files = [REPO / "README.md", REPO / "BENCHMARKS.md", REPO / "CONTRIBUTING.md"]
    files += sorted((REPO / "docs").rglob("*.md"))
    files += sorted((REPO / "notebooks").glob("*.py"))
    files += sorted(p for p in (REPO / "sartail").rglob("*") if p.suffix in (".py", ".yaml"))
    return [f for f in files if f.exists()]


def hits(text: str, where: str) -> Iterator[str]:
    """``where:line: words`` for every line of ``text`` with a process word or "seed" naming the recipe."""
    for n, line in enumerate(text.splitlines(), 1):
        found = [m.group(0) for m in PROCESS.finditer(line)] + [m.group(0) for m in SEED_AS_RECIPE.finditer(line)]
        if found:
            yield f"{where}:{n}: {', '.join(repr(f) for f in found)}: {line.strip()[:120]}"


def _subcommands(parser: argparse.ArgumentParser, prefix: str) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    yield prefix, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _subcommands(sub, f"{prefix} {name}")


def test_the_patterns_catch_work_log_words_and_spare_plain_english():
    bad = ["measured in phase 9", "the night round", "see issue 25", "the last round's scale", "this session's change",
           "benchmarks/EXPERIMENTS_issue9.md", "the seed's three stages", "Ablation of the seed: stages 1 and 3",
           "# The seed: Li et al. 2021", "by default the seed, ce and two_stage", "compares with the seed."]
    good = ["round(x, 1)", "the other way round", "round robin", "every epoch is rounded up", "drawn with the seed, and",
            "the seed of the split", "per seed", "the paper's recipe", "a phase-shifted wave", "each seed's stage 1"]
    assert all(list(hits(t, "x")) for t in bad), [t for t in bad if not list(hits(t, "x"))]
    assert not [h for t in good for h in hits(t, "x")]


@pytest.mark.parametrize("path", _user_text_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_no_work_log_words_in_user_facing_text(path: Path):
    found = list(hits(path.read_text(encoding="utf-8"), str(path.relative_to(REPO))))
    assert not found, "work-log words in user-facing text:\n" + "\n".join(found)


def test_no_work_log_words_in_the_help_of_any_command(monkeypatch):
    from sartail.cli import build_parser

    monkeypatch.setenv("COLUMNS", "200")  # one help line per source line where possible
    found = []
    for line, parser in _subcommands(build_parser(), "sartail"):
        found += hits(parser.format_help(), f"`{line} --help`")
    assert not found, "work-log words in the command-line help:\n" + "\n".join(found)
