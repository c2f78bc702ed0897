"""Where a webhook may post: not into the county's own network.

A webhook URL is refused when its host is — or resolves to — a loopback, link-local (cloud metadata
at 169.254.169.254), private, shared, reserved, multicast or unspecified address, or a name such
as `localhost` or `metadata.google.internal`; IPv4 written as one decimal number (`2130706433`),
in octal or hex, and IPv4 inside IPv6 count as what they mean. An operator may allow exceptions
with YUMIAO_WEBHOOK_ALLOWED_HOSTS (comma-separated host names, addresses or networks such as
`hooks.example.internal,10.20.0.0/16`).

The check runs when a subscription is made and again, on a fresh resolution, before every delivery.
"""

import ipaddress
import socket

from app.config import get_settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

BLOCKED_NAMES = {
    "localhost",
    "metadata",
    "metadata.google.internal",
    "metadata.goog",
    "instance-data",
    "instance-data.ec2.internal",
}
BLOCKED_SUFFIXES = (".localhost", ".internal", ".local", ".localdomain", ".home.arpa")


def _allow_list() -> tuple[set[str], list[ipaddress.IPv4Network | ipaddress.IPv6Network]]:
    names, nets = set(), []
    for item in (get_settings().webhook_allowed_hosts or "").split(","):
        item = item.strip().lower()
        if not item:
            continue
        try:
            nets.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            names.add(item.rstrip("."))
    return names, nets


def literal_address(host: str) -> IPAddress | None:
    """The address a host written as an IP literal means, in any of the forms resolvers accept."""
    host = host.strip("[]")
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if host and all(c in "0123456789abcdefxABCDEFX." for c in host) and any(c.isdigit() for c in host):
        try:  # 2130706433, 0x7f000001, 017700000001, 127.1 — as inet_aton (and curl, and browsers) read them
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def address_problem(addr: IPAddress) -> str | None:
    if isinstance(addr, ipaddress.IPv6Address):
        mapped = addr.ipv4_mapped or addr.sixtofour or (addr.teredo[1] if addr.teredo else None)
        if mapped is not None:
            return address_problem(mapped)
    if addr.is_loopback:
        return "本机回环地址"
    if addr.is_link_local:
        return "链路本地地址（含云主机元数据地址 169.254.169.254）"
    if addr.is_private or (
        isinstance(addr, ipaddress.IPv4Address) and addr in ipaddress.ip_network("100.64.0.0/10")
    ):
        return "内网地址"
    if addr.is_multicast or addr.is_reserved or addr.is_unspecified or not addr.is_global:
        return "保留或非公网地址"
    return None


def host_problem(host: str, *, resolve: bool = True) -> str | None:
    """Why a webhook may not post to `host` (Chinese), or None."""
    host = (host or "").strip().lower().rstrip(".")
    names, nets = _allow_list()
    if host in names:
        return None
    literal = literal_address(host)
    if literal is not None:
        addrs = [literal]
    else:
        if host in BLOCKED_NAMES or host.endswith(BLOCKED_SUFFIXES):
            return f"主机名 {host} 指向本机或内部服务"
        if not resolve:
            return None
        try:
            infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
        except (OSError, UnicodeError):
            return f"无法解析主机名 {host}"
        addrs = [ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in infos]
        if not addrs:
            return f"无法解析主机名 {host}"
    for addr in addrs:
        if any(addr in net for net in nets):
            continue
        why = address_problem(addr)
        if why:
            shown = host if literal is None else str(literal)
            return f"{shown} 是{why}" if literal is not None else f"{shown} 解析为{why} {addr}"
    return None
