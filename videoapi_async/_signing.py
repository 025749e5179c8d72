"""Standard Webhooks signatures (standardwebhooks.com): signing keys, signing, checking. Pure.

A delivery's ``webhook-signature`` header holds one or more space-separated ``v1,<base64>``
entries, each the HMAC-SHA256 of ``{webhook-id}.{webhook-timestamp}.{raw body}`` under the
signing key, so the id and the timestamp are signed along with the body.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Iterable
from typing import Final

from ._errors import WebhookSignatureError

__all__ = ["SECRET_PREFIX", "sign", "signing_key", "verify_signature"]

SECRET_PREFIX: Final = "whsec_"
"""The prefix of a Standard Webhooks secret; what follows it is the key in base64."""

_VERSION: Final = "v1"


def signing_key(secret: str | bytes) -> bytes:
    """Return the HMAC key a signing secret stands for.

    ``whsec_<base64>`` (the Standard Webhooks form) is the base64-decoded key; bytes are
    the key itself; any other string is used as its UTF-8 bytes (a raw secret). A base64
    secret given without its prefix must get ``whsec_`` put back in front.

    Raises:
        TypeError: The secret is neither str nor bytes.
        ValueError: The secret is empty, or ``whsec_`` is followed by something other
            than base64. The message never quotes the secret.
    """
    if isinstance(secret, bytes):
        key = secret
    elif isinstance(secret, str):
        if secret.startswith(SECRET_PREFIX):
            encoded = secret[len(SECRET_PREFIX) :].strip()
            try:
                key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
            except (binascii.Error, ValueError):
                raise ValueError(
                    "the signing secret starts with 'whsec_' but the rest is not base64: "
                    "copy the whole secret from the webhook's settings"
                ) from None
        else:
            key = secret.encode("utf-8")
    else:
        raise TypeError(f"the signing secret must be str or bytes, got {type(secret).__name__}")
    if not key:
        raise ValueError("the signing secret is empty; copy it from the webhook's settings")
    return key


def _digest(key: bytes, webhook_id: str, timestamp: str, body: bytes) -> bytes:
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    return hmac.new(key, signed, hashlib.sha256).digest()


def sign(body: bytes, secret: str | bytes, *, webhook_id: str, timestamp: int | str) -> str:
    """Return the ``webhook-signature`` value of a delivery: ``v1,<base64 HMAC-SHA256>``.

    Args:
        body: The raw body, exactly as sent.
        secret: The signing secret (see `signing_key`).
        webhook_id: The ``webhook-id`` header of the delivery.
        timestamp: The ``webhook-timestamp`` header (Unix seconds), as sent.
    """
    digest = _digest(signing_key(secret), webhook_id, str(timestamp), body)
    return f"{_VERSION},{base64.b64encode(digest).decode('ascii')}"


def verify_signature(
    body: bytes,
    signature: str | None,
    secret: str | bytes | Iterable[str | bytes],
    *,
    webhook_id: str,
    timestamp: str,
) -> None:
    """Check that one of the signatures in `signature` signs this id, timestamp and body.

    `secret` may be several secrets (for example the old and the new one while a secret
    is rotated); a signature made with any of them is accepted. Entries of a version
    other than ``v1`` are skipped; the comparison takes constant time.

    Raises:
        WebhookSignatureError: No signature, or none matches.
    """
    if not signature or not signature.strip():
        raise WebhookSignatureError("the delivery has no signature; refusing it")
    given: list[bytes] = []
    for entry in signature.split():
        version, _, encoded = entry.partition(",")
        if version != _VERSION:
            continue
        try:
            given.append(base64.b64decode(encoded, validate=True))
        except (binascii.Error, ValueError):
            continue
    keys = [secret] if isinstance(secret, (str, bytes)) else list(secret)
    for key in keys:
        digest = _digest(signing_key(key), webhook_id, timestamp, body)
        if any(hmac.compare_digest(candidate, digest) for candidate in given):
            return
    raise WebhookSignatureError(
        "the delivery's signature does not match: check the signing secret (a 'whsec_' "
        "secret is used whole), and pass the raw body exactly as received, not re-encoded "
        "JSON"
    )
