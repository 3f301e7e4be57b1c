"""`onelake-emulator`: a local OneLake (DFS + Blob over HTTPS) and a development token broker."""

from __future__ import annotations

import argparse
import json
import sys

from . import INSTALL_HINT, missing_modules


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="onelake-emulator",
        description="Serve a local OneLake (DFS + Blob APIs on one HTTPS port) and a development token broker. "
        "Prints one JSON line when ready, then serves until SIGINT/SIGTERM.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="OneLake port (0 = a free port)")
    parser.add_argument("--broker-port", type=int, default=0, help="broker port (0 = a free port)")
    parser.add_argument("--data-dir", help="persist OneLake here (default: in memory)")
    parser.add_argument("--workspace", action="append", help="workspace name (repeatable; default 'dev')")
    parser.add_argument(
        "--item",
        action="append",
        help="item such as Demo.Lakehouse, created with Files/ and Tables/ in every workspace; "
        "ws/Demo.Lakehouse for one workspace (repeatable; default Dev.Lakehouse)",
    )
    parser.add_argument("--latency-ms", type=float, default=0.0, help="delay added to every request")
    parser.add_argument("--token-lifetime", type=float, default=3600.0, help="lifetime of broker tokens, seconds")
    parser.add_argument("--broker-token", help="client token the broker accepts (default: random, kept in --data-dir)")
    parser.add_argument(
        "--user",
        action="append",
        default=[],
        help="a user (repeatable) who reads and writes <item>/Files/home/<name> and reads <item>/Files/shared; "
        "their broker client tokens are in the ready line's 'users'",
    )
    parser.add_argument(
        "--hub-api-url",
        help="JupyterHub's API (e.g. http://127.0.0.1:8081/hub/api): the broker also accepts a user's "
        "JupyterHub API token and issues a token for that user",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if missing_modules():
        print(f"onelake-emulator needs the emulator extra: {INSTALL_HINT}", file=sys.stderr)
        return 2
    from .runner import Emulator, parse_layout

    layout = parse_layout(args.workspace or ["dev"], args.item or ["Dev.Lakehouse"])
    emulator = Emulator(
        layout,
        host=args.host,
        port=args.port,
        broker_port=args.broker_port,
        data_dir=args.data_dir,
        latency_ms=args.latency_ms,
        token_lifetime=args.token_lifetime,
        broker_token=args.broker_token,
        users=args.user,
        hub_api_url=args.hub_api_url,
    )

    def ready(info) -> None:
        sys.stdout.write(json.dumps(info.to_dict()) + "\n")
        sys.stdout.flush()

    emulator.serve_forever(ready)
    return 0


if __name__ == "__main__":
    sys.exit(main())
