"""How ``videoapi batch`` recognises the video of a lost create: the library's rule.

The rule (markers, shortened names, echoed fields) lives in `videoapi_async._recovery`,
which `VideoAPI.find_created_video` uses too; this module only names it for the CLI.
"""

from __future__ import annotations

from videoapi_async._recovery import ECHOED_FIELDS, MIN_NAME_PREFIX, Marker, could_match, match_lost

__all__ = ["ECHOED_FIELDS", "MIN_NAME_PREFIX", "Marker", "could_match", "match_lost"]
