"""Signed cookie values as Better Auth (better-call) writes them."""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import quote

# JavaScript's encodeURIComponent leaves A-Z a-z 0-9 and - _ . ! ~ * ' ( ) unescaped;
# urllib.parse.quote always keeps letters, digits and _ . - ~
_URI_COMPONENT_SAFE = "!*'()"


def encode_uri_component(value: str) -> str:
    """JavaScript's `encodeURIComponent` (UTF-8, uppercase percent escapes)."""
    return quote(value, safe=_URI_COMPONENT_SAFE)


def cookie_signature(token: str, secret: str) -> str:
    """`makeSignature`: standard base64 (with padding) of HMAC-SHA256(utf8(secret), utf8(token))."""
    digest = hmac.new(secret.encode("utf-8"), token.encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def sign_cookie_value(token: str, secret: str) -> str:
    """The value of a signed cookie such as `better-auth.session_token`: encodeURIComponent(token.sig)."""
    return encode_uri_component(f"{token}.{cookie_signature(token, secret)}")
