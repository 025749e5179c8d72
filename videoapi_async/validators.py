"""What a setting in seconds may be: one rule for the client's settings and the sandbox's.

Each setting says which edges it takes (zero, infinity, None); ``True``/``False``, NaN
and anything that is not an ``int`` or ``float`` are always refused. The error names
the setting, the value given and what to pass instead. Public because the sandbox
builds on the library's public modules only; it imports nothing of the package.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, overload

import attrs

__all__ = ["check_seconds", "seconds_validator"]


@overload
def check_seconds(
    value: object,
    name: str,
    *,
    zero: bool = False,
    infinite: bool = False,
    none: None = None,
    default: float | None = None,
) -> float: ...


@overload
def check_seconds(
    value: object,
    name: str,
    *,
    zero: bool = False,
    infinite: bool = False,
    none: str,
    default: float | None = None,
) -> float | None: ...


def check_seconds(
    value: object,
    name: str,
    *,
    zero: bool = False,
    infinite: bool = False,
    none: str | None = None,
    default: float | None = None,
) -> float | None:
    """Return ``value`` as a float if it is a number of seconds ``name`` accepts.

    Args:
        value: What was given.
        name: The setting, as the user knows it (``"PollPolicy.first_poll"``).
        zero: Whether 0 is accepted (otherwise the value must be positive).
        infinite: Whether ``math.inf`` is accepted.
        none: What None means, when None is accepted (``"no limit"``); None refuses None.
        default: The setting's default, quoted in the error as something to pass.

    Raises:
        ValueError: The value is not accepted; the message says what would be.
    """
    if value is None and none is not None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            seconds = float(value)
        except OverflowError:  # an int too large for a float: refused (math.inf is not)
            seconds = math.nan
        if (seconds >= 0 if zero else seconds > 0) and (infinite or math.isfinite(seconds)):
            return seconds  # NaN fails both comparisons above
    if infinite:
        rule = ("a number of seconds >= 0" if zero else "a positive number of seconds") + (
            " or math.inf"
        )
    else:
        rule = "a finite number of seconds >= 0" if zero else "a positive, finite number of seconds"
    if none is not None:
        rule += f", or None for {none}"
    hint = f" (the default is {default!r})" if default is not None else ""
    raise ValueError(f"{name} must be {rule}; got {value!r}{hint}")


def seconds_validator(
    *, zero: bool = False, infinite: bool = False, none: str | None = None
) -> Callable[[Any, attrs.Attribute[Any], Any], None]:
    """Return an attrs validator applying `check_seconds` to a field of an attrs class.

    The error names the field as ``Class.field`` and quotes the field's default.
    """

    def check(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        default = attribute.default
        check_seconds(
            value,
            f"{type(instance).__name__}.{attribute.name}",
            zero=zero,
            infinite=infinite,
            none=none,
            default=default if isinstance(default, (int, float)) else None,
        )

    return check
