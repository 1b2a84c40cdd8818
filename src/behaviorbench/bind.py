"""Where a server may listen: loopback, unless the operator explicitly opens it to the network."""

from __future__ import annotations

import ipaddress

from behaviorbench.errors import BehaviorBenchError


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind_address(host: str, allow_remote: bool) -> None:
    """Refuse a non-loopback `--host` unless `--allow-remote` says the network is meant."""
    if not is_loopback(host) and not allow_remote:
        raise BehaviorBenchError(
            f"--host: {host} is not a loopback address; pass --allow-remote to serve on the network"
        )
