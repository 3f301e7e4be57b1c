"""Tornado pieces: `/files/` streamed from OneLake with Range support, and Retry-After on 503s."""

from __future__ import annotations

import math
import mimetypes
import re
from contextvars import ContextVar

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import JupyterHandler
from tornado import web
from tornado.web import OutputTransform

# Set by the manager when it answers 503 for a throttled or unreachable OneLake; each tornado
# request runs in its own task (a copy of the context), so the value never leaks between requests.
retry_after_hint: ContextVar[float | None] = ContextVar("onelake_retry_after", default=None)

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class RetryAfterTransform(OutputTransform):
    """Adds `Retry-After` to a 503 the contents manager raised with a hint."""

    def transform_first_chunk(self, status_code, headers, chunk, finishing):
        hint = retry_after_hint.get()
        if status_code == 503 and hint is not None and "Retry-After" not in headers:
            headers["Retry-After"] = str(max(1, math.ceil(hint)))
        return status_code, headers, chunk


# no file is this large; a longer number (thousands of digits are legal) is "beyond any end"
_HUGE = 10**18


class Unsatisfiable(Exception):
    """The range asks for nothing the file has (RFC 9110 §15.5.17: 416 with `bytes */size`)."""


def _number(digits: str) -> int:
    return int(digits) if len(digits) <= 18 else _HUGE


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(start, end inclusive) of a single `bytes=` range, None to send everything (no header, or
    one we may ignore: several ranges, bad syntax); Unsatisfiable when no byte of it exists."""
    if not header:
        return None
    match = _RANGE.match(header.strip())
    if not match or match.groups() == ("", ""):
        return None  # multiple or malformed ranges: the whole file is a valid answer
    first, last = match.groups()
    if first == "":
        length = _number(last)
        if length == 0 or size == 0:
            raise Unsatisfiable
        return max(size - length, 0), size - 1
    start = _number(first)
    end = min(_number(last), size - 1) if last else size - 1
    if last and _number(last) < start:
        return None  # an invalid range (last before first) is ignored
    if start >= size:
        raise Unsatisfiable
    return start, end


class OneLakeFilesHandler(JupyterHandler):
    """`/files/<path>`: the raw file, streamed from OneLake in chunks (never whole in memory)."""

    auth_resource = "contents"

    @property
    def content_security_policy(self):
        # As jupyter_server's FilesHandler: confine scripts in served HTML/SVG to a unique origin.
        return super().content_security_policy + "; sandbox allow-scripts"

    @web.authenticated
    @authorized
    async def head(self, path: str) -> None:
        await self.get(path, include_body=False)

    @web.authenticated
    @authorized
    async def get(self, path: str, include_body: bool = True) -> None:
        self.check_xsrf_cookie()
        cm = self.contents_manager
        path = path.strip("/")
        if not cm.allow_hidden and await cm.is_hidden(path):
            self.log.info("Refusing to serve hidden file, via 404 Error")
            raise web.HTTPError(404)
        entry = await cm.file_entry(path)
        try:
            span = parse_range(self.request.headers.get("Range"), entry.size)
        except Unsatisfiable:
            # answered here: tornado's error pages drop the headers set before them
            self.set_status(416)
            self.set_header("Content-Range", f"bytes */{entry.size}")
            await self.finish()
            return
        name = path.rsplit("/", 1)[-1]
        if self.get_argument("download", None):
            self.set_attachment_header(name)
        self.set_header("Content-Type", _content_type(name))
        self.set_header("Accept-Ranges", "bytes")
        self.set_header("ETag", f'"{entry.etag}"')
        self.set_header("Last-Modified", entry.last_modified)
        if span is not None:
            start, end = span
            self.set_status(206)
            self.set_header("Content-Range", f"bytes {start}-{end}/{entry.size}")
        else:
            start, end = 0, entry.size - 1
        length = end - start + 1
        self.set_header("Content-Length", str(max(length, 0)))
        if not include_body or length <= 0:
            await self.finish()
            return
        async for chunk in cm.stream_file(path, start, length):
            self.write(chunk)
            await self.flush()
        await self.finish()


def _content_type(name: str) -> str:
    if name.lower().endswith(".ipynb"):
        return "application/x-ipynb+json"
    mime, encoding = mimetypes.guess_type(name)
    if encoding == "gzip":
        return "application/gzip"
    if encoding is not None or mime is None:
        return "application/octet-stream"
    if mime == "text/plain":
        return "text/plain; charset=UTF-8"
    return mime
