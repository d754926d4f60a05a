"""claimsim: an agent-based simulator of insurance claims operations after winter storms and floods."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("claimsim")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+local"

__all__ = ["__version__"]
