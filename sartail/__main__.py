"""``python -m sartail`` (and ``torchrun ... -m sartail``) runs the command line."""
import sys

from .cli import main

sys.exit(main())
