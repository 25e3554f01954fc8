"""The ``sartail`` command line: demo, run, sweep-removal, eval, predict, compare, recipes, show, data.

Run ``sartail COMMAND --help`` for each command's options. Errors of the kit (bad data,
unknown keys, an existing run directory, a bad option value, ...) print one clear line and
exit with status 2; Ctrl-C stops training at the next step, keeps a checkpoint and says how
to resume (status 130).
"""
from __future__ import annotations

import sys
from collections.abc import Sequence

from ..errors import SartailError, StopRequested
from .parser import build_parser


def _use_threads(n: int | None) -> None:
    """``--threads N``, else ``$SARTAIL_THREADS``, else PyTorch's default."""
    from ..run.threads import env_threads, set_threads

    n = n if n is not None else env_threads()
    if n is not None:
        set_threads(n)


def main(argv: Sequence[str] | None = None) -> int:
    """Run one ``sartail`` command; returns its exit status."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a bad option (one line on stderr)
        return exc.code if isinstance(exc.code, int) else 2
    try:
        if hasattr(args, "threads"):  # the commands that compute
            _use_threads(args.threads)
        return int(args.func(args) or 0)
    except StopRequested as exc:
        print(f"\nstopped: {exc}", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    except SartailError as exc:
        print(f"sartail: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # a full disk or a vanished folder outside the kit's own checks
        print(f"sartail: error: {exc}. Files written before are intact; a run can be resumed with "
              "`sartail run --resume RUN_DIR`.", file=sys.stderr)
        return 2
    finally:
        from .. import distributed

        distributed.shutdown()


__all__ = ["build_parser", "main"]
