"""The client's address, the one rule for every place that needs it (rate limits, login
lockouts): X-Forwarded-For is believed only as far as ``NUM_PROXIES`` trusted proxies wrote it.

Each proxy appends the address it received the request from, so with N trusted proxies the
client is the N-th address from the right; anything further left was written by the client and
proves nothing. With 0 (the default) the header is ignored. This is Django REST framework's own
reading of its ``NUM_PROXIES`` setting, with one addition: a value that is not an IP address
falls back to the connection's address rather than becoming an identity of its own.
"""

import ipaddress

from django.conf import settings
from django.http import HttpRequest
from rest_framework.request import Request


def client_ip(request: HttpRequest | Request) -> str | None:
    remote_addr: str | None = request.META.get("REMOTE_ADDR") or None
    proxies: int = settings.NUM_PROXIES
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies <= 0 or not forwarded:
        return remote_addr
    hops = [hop.strip() for hop in forwarded.split(",")]
    candidate = hops[-min(proxies, len(hops))]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote_addr
