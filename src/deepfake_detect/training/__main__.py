"""`python -m deepfake_detect.training prepare|train|evaluate|calibrate|export-cache ...`: the training
commands of `deepfake-detect` without the server's imports (FastAPI, SQLAlchemy, Ray), for a training
machine that has only PyTorch and the training dependencies (scripts/gpu/run.sh)."""

from __future__ import annotations

import argparse
import logging
import sys

from . import cli


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(prog="python -m deepfake_detect.training")
    cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
