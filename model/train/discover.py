"""Shortcut for the segment-discovery CLI: `python model/train/discover.py --help`
(same as `python -m edgeseg_train.discover` from model/train)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from edgeseg_train.discover.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
