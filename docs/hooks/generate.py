"""MkDocs hook: pages generated at build time, so that nothing in the site is copied by hand.

- ``reference/cli.md``: the ``--help`` of ``sartail`` and of every subcommand (nested ones too),
  read from ``sartail.cli.build_parser()``;
- ``--8<-- "PATH"`` lines: the file PATH of the repository (BENCHMARKS.md, data/README.md) pasted in,
  so that one text serves GitHub and the site; its links into the repository outside ``docs/``
  become file names, since those files are not part of the site;
- the notebooks of ``notebooks/`` (``*.ipynb``), added as pages under ``notebooks/`` for
  mkdocs-jupyter to execute and render (they stay where they are in the repository).
"""
from __future__ import annotations

import argparse
import os
import re
from collections.abc import Iterator
from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files

REPO = Path(__file__).resolve().parents[2]
CLI_PAGE = "reference/cli.md"
#: a Markdown link to a file of the repository outside docs/ (BENCHMARKS.md's links into benchmarks/)
INCLUDE = re.compile(r'^--8<-- "([^"]+)"$', re.M)
REPO_LINK = re.compile(r"\[([^\]]+)\]\(((?:benchmarks|sartail|notebooks|tests)/[^)\s]*)\)")


def _subcommands(parser: argparse.ArgumentParser, prefix: str) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """``(command line, parser)`` for ``parser`` and every subcommand below it, depth first, in definition order."""
    yield prefix, parser
    for action in parser._actions:  # argparse keeps subparsers only here
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _subcommands(sub, f"{prefix} {name}")


def cli_reference() -> str:
    """The CLI reference page: every command's help text, as argparse prints it (80 columns)."""
    from sartail.cli import build_parser

    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "80"  # argparse wraps to $COLUMNS: the page must not depend on the terminal
    try:
        parts = ["# Command-line reference", "",
                 "Generated from the parser itself (`sartail.cli.build_parser()`) each time the site is built;",
                 "`sartail COMMAND --help` prints the same text.", ""]
        for line, parser in _subcommands(build_parser(), "sartail"):
            parser.prog = line
            parts += [f"## `{line}`", "", "```text", parser.format_help().rstrip(), "```", ""]
    finally:
        if old is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = old
    return "\n".join(parts)


@event_priority(100)  # before mkdocs-jupyter's on_files, which turns the notebooks into pages
def on_files(files: Files, config: MkDocsConfig) -> Files:
    files.append(File.generated(config, CLI_PAGE, content=cli_reference()))
    for nb in sorted((REPO / "notebooks").glob("*.ipynb")):
        files.append(File(f"notebooks/{nb.name}", src_dir=str(REPO), dest_dir=config.site_dir,
                          use_directory_urls=config.use_directory_urls))
    return files


def _repo_link(m: re.Match[str]) -> str:
    text, path = m.group(1), m.group(2)
    return f"`{path}`" if text.strip("`") == path else f"{text} (`{path}` in the repository)"


def _include(m: re.Match[str]) -> str:
    return REPO_LINK.sub(_repo_link, (REPO / m.group(1)).read_text(encoding="utf-8"))


def on_page_markdown(markdown: str, page: object, config: MkDocsConfig, files: Files) -> str:
    """Paste in the repository files named by ``--8<-- "PATH"`` lines."""
    return INCLUDE.sub(_include, markdown)
