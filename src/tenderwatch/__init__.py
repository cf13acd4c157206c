"""tenderwatch: follow public money into outsourced public services.

The library API. Every command of the ``tenderwatch`` CLI is a thin layer over these names.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("tenderwatch")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"

from tenderwatch.compiler import Compiler
from tenderwatch.exceptions import TenderwatchError
from tenderwatch.settings import Settings, load_settings
from tenderwatch.workspace import FileSummary, LoadResult, Status, Workspace

__all__ = [
    "Compiler",
    "FileSummary",
    "LoadResult",
    "Settings",
    "Status",
    "TenderwatchError",
    "Workspace",
    "__version__",
    "load_settings",
]
