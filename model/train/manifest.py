"""`python3 model/train/manifest.py --rehash MODEL_DIR`: recomputes the bundle's file hashes in
its manifest.json, without the training venv (edgeseg_train.bundle_manifest is standard
library only)."""
import sys

from edgeseg_train.bundle_manifest import main

if __name__ == "__main__":
    sys.exit(main())
