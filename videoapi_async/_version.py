"""The package's version, defined here once.

The build reads it from this file (``[tool.hatch.version]`` in pyproject.toml) into the
package metadata; ``videoapi_async.__version__`` and ``videoapi --version`` import it.
"""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
