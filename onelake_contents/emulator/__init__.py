"""A local OneLake for tests, benchmarks and the demo. The product never imports this package."""

from .auth import STORAGE_AUDIENCE, STORAGE_SCOPE, TokenAuthority
from .instrument import FaultSettings, RequestRecord, count
from .runner import Emulator, EmulatorInfo, parse_layout

__all__ = [
    "STORAGE_AUDIENCE",
    "STORAGE_SCOPE",
    "Emulator",
    "EmulatorInfo",
    "FaultSettings",
    "RequestRecord",
    "TokenAuthority",
    "count",
    "parse_layout",
]
