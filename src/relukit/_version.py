"""The version, read from the installed metadata (its one source is ``VERSION``)."""

from importlib import metadata
from pathlib import Path

try:
    __version__ = metadata.version("relukit")
except metadata.PackageNotFoundError:  # running from a source tree
    __version__ = (Path(__file__).with_name("VERSION")).read_text().strip()
