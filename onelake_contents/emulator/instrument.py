"""The emulator's instruments: request log, injected latency and fault injection.

Settings are replaced whole (an assignment is atomic), so tests may change them from another thread
while the server runs; the log is guarded by a lock for the same reason.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

FAULT_KINDS = ("503", "429", "reset", "slow", "lost")


@dataclass
class RequestRecord:
    seq: int
    time: float
    method: str
    api: str  # "dfs", "blob" or "emulator"
    operation: str  # e.g. "ListPaths", "PutBlob", "RenamePath"
    workspace: str
    path: str  # the path addressed; for ListPaths and ListBlobs the folder listed (`directory`, `prefix`)
    status: int
    error_code: str | None
    bytes_in: int
    bytes_out: int
    duration_ms: float
    fault: str | None = None
    token_id: str | None = None  # the `jti` of the bearer token used, to follow token refreshes
    principal: str | None = None  # whose token it was: a user's name (which server sent it) or the admin's

    def to_dict(self) -> dict:
        return asdict(self)


class RequestLog:
    def __init__(self) -> None:
        self._records: list[RequestRecord] = []
        self._lock = threading.Lock()
        self._seq = 0
        self.tls_handshakes = 0  # new TLS connections (a client reusing its connections makes few)

    def handshake(self, *_) -> None:
        """An `ssl.SSLContext.sni_callback`: called once per TLS handshake, SNI or not."""
        with self._lock:
            self.tls_handshakes += 1

    def add(self, **fields) -> None:
        with self._lock:
            self._seq += 1
            self._records.append(RequestRecord(seq=self._seq, **fields))

    def records(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._records)

    def reset(self) -> None:
        with self._lock:
            self._records.clear()
            self.tls_handshakes = 0


@dataclass(frozen=True)
class FaultSettings:
    """Injected failures.

    `probability` of any request (restricted to `operations` when given) failing with one of the
    `kinds` (weights): `503` ServerBusy, `429` with Retry-After, `reset` (connection dropped before
    the operation is applied), `slow` (answer delayed by `slow_seconds`, then applied and answered),
    `lost` (the operation is applied, then the connection is dropped: the response is lost).
    `script` lists kinds to inject, in order, on the next matching requests before any random ones.
    """

    probability: float = 0.0
    kinds: dict[str, float] = field(default_factory=lambda: {"503": 1.0})
    operations: frozenset[str] | None = None
    retry_after: float = 1.0
    slow_seconds: float = 5.0
    seed: int | None = None
    script: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        unknown = set(self.kinds) - set(FAULT_KINDS) | set(self.script) - set(FAULT_KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds {sorted(unknown)}; use {FAULT_KINDS}")
        if not 0.0 <= self.probability <= 1.0:
            raise ValueError("fault probability must be between 0 and 1")

    @classmethod
    def from_dict(cls, data: dict) -> FaultSettings:
        data = dict(data)
        if data.get("operations") is not None:
            data["operations"] = frozenset(data["operations"])
        if "script" in data:
            data["script"] = tuple(data["script"])
        return cls(**data)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["operations"] = sorted(self.operations) if self.operations is not None else None
        d["script"] = list(self.script)
        return d


class FaultInjector:
    def __init__(self) -> None:
        self._settings = FaultSettings()
        self._random = random.Random()
        self._script: list[str] = []
        self._lock = threading.Lock()
        self.injected: dict[str, int] = {k: 0 for k in FAULT_KINDS}

    @property
    def settings(self) -> FaultSettings:
        return self._settings

    def configure(self, settings: FaultSettings) -> None:
        with self._lock:
            self._settings = settings
            self._random = random.Random(settings.seed)
            self._script = list(settings.script)

    def clear(self) -> None:
        self.configure(FaultSettings())

    def choose(self, operation: str) -> str | None:
        s = self._settings
        if s.operations is not None and operation not in s.operations:
            return None
        with self._lock:
            if self._script:
                kind = self._script.pop(0)
            elif s.probability and self._random.random() < s.probability:
                kind = self._random.choices(list(s.kinds), weights=list(s.kinds.values()))[0]
            else:
                return None
            self.injected[kind] += 1
            return kind


def count(records: Iterable[RequestRecord], operation: str | None = None, **match) -> int:
    """How many records match an operation (and other fields), for assertions in tests."""
    return sum(
        1
        for r in records
        if (operation is None or r.operation == operation) and all(getattr(r, k) == v for k, v in match.items())
    )
