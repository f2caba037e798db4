"""An independent RFC 6238 TOTP, so MFA tests do not trust allauth to check its own codes."""

import base64
import hashlib
import hmac
import struct
import time

# The portal accepts the current code only (allauth's guard against a code used twice lasts
# one period, so a wider tolerance would let a code be replayed: OWASP ASVS 2.8.4). A code
# made in the last moments of its period can reach the server in the next one and be refused,
# as a person's would: a code for now waits for a fresh period instead.
FRESH_SECONDS = 3.0


def totp(secret: str, at: float | None = None, period: int = 30, digits: int = 6) -> str:
    if at is None:
        left = period - time.time() % period
        if left < FRESH_SECONDS:
            time.sleep(left + 0.05)
    counter = int((time.time() if at is None else at) // period)
    key = base64.b32decode(secret, casefold=True)
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 10**digits:0{digits}d}"
