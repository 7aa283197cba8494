"""Who is asking: the client's address, as the sign-in lockout counts it.

django-axes keys its lockout on the address django-ipware finds under the
settings made from DJANGO_PROXY_COUNT (registry/settings.py); everything else
that counts per client (the e-mail reveal's limit) asks the same function, so
the two can never disagree about who a client is.
"""

from __future__ import annotations

import ipaddress

from axes.helpers import get_client_ip_address
from django.http import HttpRequest

# A subscriber is usually given a whole IPv6 /64 network: counting each of its
# addresses apart would give one client billions of allowances.
IPV6_PREFIX = 64


def client_address(request: HttpRequest) -> str | None:
    """Return the client's IP address, the one the sign-in lockout counts, or None if unknown."""
    return get_client_ip_address(request)


def client_key(request: HttpRequest) -> str:
    """Return what a per-client limit counts under: the IPv4 address, or the IPv6 /64 network."""
    address = client_address(request)
    if address is None:
        return "unknown"
    parsed = ipaddress.ip_address(address)
    if parsed.version == 6:
        return str(ipaddress.ip_network(f"{parsed}/{IPV6_PREFIX}", strict=False))
    return str(parsed)
