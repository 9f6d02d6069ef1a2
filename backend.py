"""The seed's entry point: `python backend.py` starts the API (HOST, PORT, MODEL_PATH from the environment).

`uvicorn backend:app` works too.
"""

import sys
from pathlib import Path

try:
    import deepfake_detect  # noqa: F401
except ModuleNotFoundError:  # running from a checkout without `pip install -e .`
    sys.path.insert(0, str(Path(__file__).resolve().parent / "src"))

from deepfake_detect.api.app import create_app  # noqa: E402
from deepfake_detect.cli import main  # noqa: E402

app = create_app()

if __name__ == "__main__":
    sys.exit(main(["serve", *sys.argv[1:]]))
