"""`onelake-contents`: the operator's command line."""

from __future__ import annotations

import argparse
import sys


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="onelake-contents", description="Jupyter contents in Microsoft OneLake.")
    verbs = parser.add_subparsers(dest="verb", required=True)
    demo = verbs.add_parser("demo", help="JupyterLab on an embedded local OneLake (until Ctrl-C)")
    demo.add_argument("--data-dir", default=".onelake-demo", help="where the local OneLake keeps its data")
    demo.add_argument("--port", type=int, default=8888, help="JupyterLab's port (default 8888)")
    demo.add_argument("--host", default="127.0.0.1", help="JupyterLab's address (default 127.0.0.1)")
    demo.add_argument("--user", help="the home folder's name (default: the current user)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.verb == "demo":
        from .demo import run

        return run(args.data_dir, port=args.port, user=args.user, host=args.host)
    return 2


if __name__ == "__main__":
    sys.exit(main())
