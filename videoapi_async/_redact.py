r"""Finding the API key in whatever form a server may echo it, and blanking it out.

A server can quote the key raw, JSON-escaped (``\u0041`` for any character, ``\/`` for
a slash) or percent-encoded, in a body, a header or a broken status line. `Redactor`
matches every mix of those forms, character by character.
"""

from __future__ import annotations

import json
import re
from collections.abc import ItemsView, Iterator, KeysView, Mapping, ValuesView
from typing import Final, TypeVar, overload

from multidict import CIMultiDict, CIMultiDictProxy, MultiMapping

__all__ = ["REDACTED", "RedactedHeaders", "Redactor"]

REDACTED: Final = "[redacted]"
_MISSING: Final = object()
_T = TypeVar("_T")
_FRAGMENT: Final = 8
"""Text quoting this many characters of the key in a row has them blanked out too: a
server's broken line may be cut short in an error message, leaving part of the key."""


def _hex(value: int, width: int) -> str:
    """Return a regex matching `value` in hex, either case."""
    return "".join(f"[{d.lower()}{d.upper()}]" if d.isalpha() else d for d in f"{value:0{width}x}")


def _char_forms(char: str) -> str:
    forms = [re.escape(char)]
    escaped = json.dumps(char)[1:-1]  # \" \\ or \uXXXX (twice for astral characters)
    if escaped != char:
        forms.append(re.sub(r"[0-9a-f]", lambda m: f"[{m[0]}{m[0].upper()}]", re.escape(escaped)))
    if ord(char) < 0x10000:
        forms.append(r"\\u" + _hex(ord(char), 4))
    if char == "/":
        forms.append(r"\\/")
    forms.append("".join("%" + _hex(byte, 2) for byte in char.encode()))
    return "(?:" + "|".join(dict.fromkeys(forms)) + ")"


class Redactor:
    """Replaces every form of some secrets with ``[redacted]`` in text, bytes and headers."""

    def __init__(self, *secrets: str) -> None:
        """Match each of `secrets` raw, JSON-escaped and percent-encoded, in any mix."""
        pattern = "|".join("".join(_char_forms(char) for char in secret) for secret in secrets)
        self._text = re.compile(pattern)
        self._bytes = re.compile(pattern.encode())
        self._raw = tuple(secret.encode() for secret in secrets)
        self._fragments = {
            secret[i : i + min(_FRAGMENT, len(secret))]
            for secret in secrets
            for i in range(len(secret) - min(_FRAGMENT, len(secret)) + 1)
        }
        # Bytes that any disguised form of a secret must contain.
        markers = {b"\\u", b"%"}
        joined = "".join(secrets)
        if "/" in joined:
            markers.add(b"\\/")
        if any(json.dumps(char)[1:-1] not in (char, f"\\u{ord(char):04x}") for char in joined):
            markers.add(b"\\")  # a quote or backslash, escaped as \" or \\
        # What `bytes` looks for before it runs the full pattern: the raw secrets, then
        # the markers of their disguised forms.
        self._needles = self._raw + tuple(markers)

    def text(self, value: str) -> str:
        """Return `value` with the secret, and any long enough part of it, blanked out."""
        value = self._text.sub(REDACTED, value)
        for fragment in self._fragments:
            if fragment in value:
                value = value.replace(fragment, REDACTED)
        return value

    def found_in(self, value: str) -> bool:
        """Whether `value` shows the secret (or a long enough part of it) in any form."""
        return self._text.search(value) is not None or any(f in value for f in self._fragments)

    def bytes(self, value: bytes) -> bytes:
        """Return `value` with the secret blanked out."""
        for needle in self._needles:
            if needle in value:
                return self._bytes.sub(REDACTED.encode(), value)
        return value  # the common case: no escapes, so no disguised key either

    def headers(self, headers: Mapping[str, str]) -> RedactedHeaders:
        """Return a read-only view of `headers` whose values are redacted as they are read.

        Checking every header of every answer for the secret cost more than the rest of
        a call's bookkeeping; most headers are never read, so each value is checked
        when somebody reads it (an error's ``headers``, a raw response, a log line).
        """
        return RedactedHeaders(headers, self)


class RedactedHeaders(MultiMapping[str]):
    """Response headers (case-insensitive, as received) that never show a secret.

    A read-only multi-valued view, like aiohttp's ``CIMultiDictProxy``: a header sent
    more than once (two ``Set-Cookie``, two ``Link``) keeps every value, in order.
    ``headers[name]``, `get` and `getone` give the first value, `getall` every one;
    `items` and `values` give each value once, and ``len`` counts them all.
    """

    __slots__ = ("_headers", "_redactor")

    def __init__(self, headers: Mapping[str, str], redactor: Redactor) -> None:
        """View `headers` (a plain mapping is copied into a case-insensitive one)."""
        # The type test first: aiohttp's own headers, on every call, skip the ABC check.
        if type(headers) is not CIMultiDictProxy and not isinstance(headers, MultiMapping):
            headers = CIMultiDictProxy(CIMultiDict(headers))
        self._headers: MultiMapping[str] = headers
        self._redactor = redactor

    def _shown(self, value: str) -> str:
        return self._redactor.text(value) if self._redactor.found_in(value) else value

    def __getitem__(self, name: str) -> str:
        return self._shown(self._headers[name])

    @overload
    def getone(self, key: str) -> str: ...
    @overload
    def getone(self, key: str, default: _T) -> str | _T: ...
    def getone(self, key: str, default: object = _MISSING) -> object:
        """Return the first value of header `key`, or `default` (else KeyError) if absent."""
        for value in self._headers.getall(key, ()):
            return self._shown(value)
        if default is _MISSING:
            raise KeyError(key)
        return default

    @overload
    def getall(self, key: str) -> list[str]: ...
    @overload
    def getall(self, key: str, default: _T) -> list[str] | _T: ...
    def getall(self, key: str, default: object = _MISSING) -> object:
        """Return every value of header `key`, in order, or `default` (else KeyError)."""
        values = [self._shown(value) for value in self._headers.getall(key, ())]
        if values:
            return values
        if default is _MISSING:
            raise KeyError(key)
        return default

    def __contains__(self, name: object) -> bool:
        return name in self._headers

    def __iter__(self) -> Iterator[str]:
        return iter(self._headers)

    def __len__(self) -> int:
        return len(self._headers)

    def keys(self) -> KeysView[str]:
        """Return the header names as received (what iteration gives)."""
        return self._headers.keys()

    def items(self) -> ItemsView[str, str]:
        """Return each (name, value) pair as received, a repeated header once per value."""
        return _Items(self)

    def values(self) -> ValuesView[str]:
        """Return each value as received, a repeated header's once per value."""
        return _Values(self)

    def _pairs(self) -> Iterator[tuple[str, str]]:
        for name, value in self._headers.items():
            yield name, self._shown(value)

    def __repr__(self) -> str:
        shown = ", ".join(f"{name!r}: {value!r}" for name, value in self._pairs())
        return f"<RedactedHeaders({shown})>"


class _Items(ItemsView[str, str]):
    _mapping: RedactedHeaders

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return self._mapping._pairs()

    def __contains__(self, item: object) -> bool:
        return item in set(self._mapping._pairs())


class _Values(ValuesView[str]):
    _mapping: RedactedHeaders

    def __iter__(self) -> Iterator[str]:
        return (value for _, value in self._mapping._pairs())
