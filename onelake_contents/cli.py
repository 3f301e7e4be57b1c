"""`onelake-contents`: check a user's setup and move files without starting Jupyter.

Same settings as the contents manager (flags > ONELAKE_* > saved config file). Paths are relative
to the configured root, like the Jupyter file browser's. Exit codes: 0 done, 1 the operation failed
(OneLake said no, not found, conflict...), 2 bad usage or settings. `--json` prints one JSON
document on stdout. Nothing prompts unless stdin is a terminal.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import uuid
from datetime import datetime
from pathlib import Path

from tornado.web import HTTPError

from . import config

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
CONNECTION_FLAGS = ("endpoint", "workspace", "root", "broker_url", "broker_token_file", "ca_file")


class CommandError(Exception):
    def __init__(self, message: str, code: int = EXIT_FAILED):
        super().__init__(message)
        self.code = code


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    for name in CONNECTION_FLAGS:
        common.add_argument(
            f"--{name.replace('_', '-')}",
            dest=name,
            help=f"{config.SETTINGS[name].help} (env {config.SETTINGS[name].env})",
        )
    common.add_argument("--json", action="store_true", help="machine-readable output")

    parser = argparse.ArgumentParser(prog="onelake-contents", description="Jupyter contents in Microsoft OneLake.")
    verbs = parser.add_subparsers(dest="verb", required=True)
    verbs.add_parser("check", parents=[common], help="check settings, broker, listing, write and delete")
    ls = verbs.add_parser("ls", parents=[common], help="list a folder (or describe a file)")
    ls.add_argument("path", nargs="?", default="")
    ls.add_argument("-l", "--long", action="store_true", help="sizes and times")
    get = verbs.add_parser("get", parents=[common], help="download a file")
    get.add_argument("remote")
    get.add_argument("local")
    put = verbs.add_parser("put", parents=[common], help="upload a file (atomic; in blocks when large)")
    put.add_argument("local")
    put.add_argument("remote")
    rm = verbs.add_parser("rm", parents=[common], help="delete a file (or a folder with -r)")
    rm.add_argument("path")
    rm.add_argument("-r", "--recursive", action="store_true")
    mv = verbs.add_parser("mv", parents=[common], help="rename or move (fails if the target exists)")
    mv.add_argument("source")
    mv.add_argument("dest")
    checkpoints = verbs.add_parser("checkpoints", parents=[common], help="a file's versions")
    checkpoints.add_argument("action", choices=["list", "create", "restore"])
    checkpoints.add_argument("path")
    checkpoints.add_argument("id", nargs="?")
    configure = verbs.add_parser("configure", parents=[common], help="save settings to the config file")
    configure.add_argument("--file", help="where (default $ONELAKE_CONFIG or ~/.config/onelake-contents/config.json)")
    demo = verbs.add_parser("demo", help="JupyterLab on an embedded local OneLake (until Ctrl-C)")
    demo.add_argument("--data-dir", default=".onelake-demo", help="where the local OneLake keeps its data")
    demo.add_argument("--port", type=int, default=8888, help="JupyterLab's port (default 8888)")
    demo.add_argument("--host", default="127.0.0.1", help="JupyterLab's address (default 127.0.0.1)")
    demo.add_argument("--user", help="the home folder's name (default: the current user)")
    return parser


# ---- output ------------------------------------------------------------------------------------
def _iso(value) -> str | None:
    return value.isoformat() if isinstance(value, datetime) else value


def _emit(args, data, text: str) -> None:
    if args.json:
        print(json.dumps(data, default=_iso, indent=None))
    elif text:
        print(text)


class Progress:
    """A one-line progress bar on stderr, only when it is a terminal."""

    def __init__(self, total: int, label: str):
        self.total, self.label, self.done = total, label, 0
        self.enabled = sys.stderr.isatty()

    def advance(self, count: int) -> None:
        self.done += count
        if self.enabled and self.total:
            share = self.done / self.total
            bar = "#" * int(share * 30)
            sys.stderr.write(f"\r{self.label} [{bar:<30}] {share:6.1%}")
            sys.stderr.flush()

    def finish(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")


# ---- verbs -------------------------------------------------------------------------------------
def _explicit(args) -> dict:
    return {name: getattr(args, name, None) for name in CONNECTION_FLAGS}


def _manager(args):
    from .manager import OneLakeContentsManager

    try:
        traits = {k: v for k, v in _explicit(args).items() if v}
        return OneLakeContentsManager(**traits)
    except ValueError as error:
        raise CommandError(str(error), EXIT_USAGE) from None


async def _ls(args) -> None:
    cm = _manager(args)
    try:
        model = (
            await cm.get(args.path, content=True)
            if not args.path or await cm.dir_exists(args.path)
            else await cm.get(args.path, content=False)
        )
    finally:
        await cm.close()
    entries = model["content"] if model["type"] == "directory" else [model]
    rows = [
        {k: e[k] for k in ("name", "path", "type", "size", "last_modified", "created")}
        for e in sorted(entries, key=lambda e: (e["type"] != "directory", e["name"]))
    ]
    if args.long:
        text = "\n".join(
            f"{'d' if r['type'] == 'directory' else '-'} {r['size'] if r['size'] is not None else '':>12} "
            f"{r['last_modified']:%Y-%m-%d %H:%M:%S} {r['name']}{'/' if r['type'] == 'directory' else ''}"
            for r in rows
        )
    else:
        text = "\n".join(r["name"] + ("/" if r["type"] == "directory" else "") for r in rows)
    _emit(args, rows, text)


async def _get(args) -> None:
    cm = _manager(args)
    target = Path(args.local)
    if target.is_dir():
        target = target / args.remote.rstrip("/").rsplit("/", 1)[-1]
    partial = target.with_name(f".{target.name}.part-{uuid.uuid4().hex[:6]}")
    try:
        entry = await cm.file_entry(args.remote)
        progress = Progress(entry.size, f"get {args.remote}")
        with open(partial, "wb") as out:
            async for chunk in cm.stream_file(args.remote, 0, entry.size):
                out.write(chunk)
                progress.advance(len(chunk))
        os.replace(partial, target)
        progress.finish()
    finally:
        partial.unlink(missing_ok=True)
        await cm.close()
    _emit(
        args,
        {"remote": args.remote, "local": str(target), "size": entry.size},
        f"{args.remote} -> {target} ({entry.size} bytes)",
    )


async def _put(args) -> None:
    source = Path(args.local)
    if not source.is_file():
        raise CommandError(f"{source} is not a file", EXIT_USAGE)
    cm = _manager(args)
    size = source.stat().st_size
    progress = Progress(size, f"put {args.remote}")
    try:
        with open(source, "rb") as handle:
            model = await cm.upload(args.remote, handle, size, progress.advance)
        progress.finish()
    finally:
        await cm.close()
    _emit(
        args,
        {"remote": args.remote, "size": model["size"], "last_modified": model["last_modified"]},
        f"{source} -> {args.remote} ({model['size']} bytes)",
    )


async def _rm(args) -> None:
    cm = _manager(args)
    try:
        if await cm.dir_exists(args.path) and not args.recursive:
            listing = await cm.get(args.path)
            if listing["content"]:
                raise CommandError(f"{args.path} is a folder that is not empty; use -r to delete it with its contents")
        await cm.delete(args.path)
    finally:
        await cm.close()
    _emit(args, {"deleted": args.path}, f"deleted {args.path}")


async def _mv(args) -> None:
    cm = _manager(args)
    try:
        await cm.rename(args.source, args.dest)
    finally:
        await cm.close()
    _emit(args, {"source": args.source, "dest": args.dest}, f"{args.source} -> {args.dest}")


async def _checkpoints(args) -> None:
    cm = _manager(args)
    try:
        if args.action == "list":
            items = await cm.list_checkpoints(args.path)
            _emit(args, items, "\n".join(f"{c['id']}  {c['last_modified']:%Y-%m-%d %H:%M:%S}" for c in items))
        elif args.action == "create":
            item = await cm.create_checkpoint(args.path)
            _emit(args, item, item["id"])
        else:
            if not args.id:
                raise CommandError("restore needs a checkpoint id (see `checkpoints list`)", EXIT_USAGE)
            await cm.restore_checkpoint(args.id, args.path)
            _emit(args, {"restored": args.id, "path": args.path}, f"{args.path} restored to {args.id}")
    finally:
        await cm.close()


def _configure(args) -> None:
    values = {k: v for k, v in _explicit(args).items() if v}
    path = Path(args.file).expanduser() if args.file else config.config_file_path()
    current = config.read_config_file(path) if path.exists() else {}
    merged = {**current, **values}
    if sys.stdin.isatty() and not args.json:
        for name in ("workspace", "root", "broker_url"):
            if not merged.get(name):
                answer = input(f"{name} ({config.SETTINGS[name].help}): ").strip()
                if answer:
                    merged[name] = answer
    try:
        config.validate(config.ResolvedSettings(merged, {k: f"configure --{k.replace('_', '-')}" for k in merged}))
        written = config.write_config_file(merged, path)
    except config.SettingsError as error:
        raise CommandError(str(error), EXIT_USAGE) from None
    _emit(args, {"file": str(written), "settings": merged}, f"saved {written}")


async def _check(args) -> int:
    """Each step with its time and, on failure, its cause; later steps are skipped after one fails."""
    steps: list[dict] = []

    async def step(name: str, action):
        started = time.monotonic()
        try:
            detail = await action()
            steps.append(
                {"step": name, "ok": True, "ms": round((time.monotonic() - started) * 1000, 1), "detail": detail}
            )
            return True
        except Exception as error:  # the command reports every failure as a step
            message = error.log_message if isinstance(error, HTTPError) else str(error)
            steps.append(
                {"step": name, "ok": False, "ms": round((time.monotonic() - started) * 1000, 1), "error": message}
            )
            return False

    settings_box: dict = {}

    async def settings():
        resolved = config.resolve(_explicit(args))
        resolved.require("workspace", "root", "broker_url")
        settings_box["settings"] = resolved
        return {name: {"value": shown, "source": source} for name, shown, source in resolved.describe()}

    async def token():
        from .credential import AsyncBrokerCredential

        async with AsyncBrokerCredential.from_settings(settings_box["settings"], retries=1) as credential:
            info = await credential.get_token_info(config.STORAGE_SCOPE)
        return {"expires_in_s": int(info.expires_on - time.time())}

    cm_box: dict = {}
    probe = f".onelake-contents-check-{uuid.uuid4().hex[:8]}.txt"

    async def listing():
        cm = cm_box["cm"] = _manager(args)
        cm.allow_hidden = True
        model = await cm.get("")
        return {"entries": len(model["content"])}

    async def write():
        saved = await cm_box["cm"].save(
            {"type": "file", "format": "text", "content": "onelake-contents check\n"}, probe
        )
        return {"path": probe, "size": saved["size"]}

    async def delete():
        await cm_box["cm"].delete_file(probe)
        return {"path": probe}

    try:
        for name, action in (
            ("settings", settings),
            ("broker token", token),
            ("list root", listing),
            ("write probe", write),
            ("delete probe", delete),
        ):
            if not await step(name, action):
                break
    finally:
        if "cm" in cm_box:
            await cm_box["cm"].close()
    ok = len(steps) == 5 and all(s["ok"] for s in steps)
    if args.json:
        print(json.dumps({"ok": ok, "steps": steps}, default=_iso))
    else:
        for s in steps:
            mark = "ok  " if s["ok"] else "FAIL"
            print(f"[{mark}] {s['step']:<13} {s['ms']:>8.1f} ms  {s.get('error') or ''}")
            if s["step"] == "settings" and s["ok"]:
                for name, shown in s["detail"].items():
                    print(f"         {name:<18} {shown['value'] or '-':<50} ({shown['source']})")
    return EXIT_OK if ok else EXIT_FAILED


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.verb == "demo":
            from .demo import run

            return run(args.data_dir, port=args.port, user=args.user, host=args.host)
        if args.verb == "configure":
            _configure(args)
            return EXIT_OK
        if args.verb == "check":
            return asyncio.run(_check(args))
        action = {"ls": _ls, "get": _get, "put": _put, "rm": _rm, "mv": _mv, "checkpoints": _checkpoints}[args.verb]
        asyncio.run(action(args))
        return EXIT_OK
    except CommandError as error:
        return _fail(args, str(error), error.code)
    except HTTPError as error:
        return _fail(args, error.log_message or str(error), EXIT_FAILED, error.status_code)
    except config.SettingsError as error:
        return _fail(args, str(error), EXIT_USAGE)
    except KeyboardInterrupt:
        return 130


def _fail(args, message: str, code: int, status: int | None = None) -> int:
    if getattr(args, "json", False):
        print(json.dumps({"error": message, "status": status}))
    else:
        print(f"onelake-contents {args.verb}: {message}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
