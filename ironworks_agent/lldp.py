"""LLDP: which switch port each NIC is cabled to, heard from the switch's own announcements.

Switches send an LLDP frame (ethertype 0x88cc, to the multicast address 01:80:c2:00:00:0e) every
few seconds. `listen` opens one AF_PACKET socket per interface that is up, joins that multicast
group, and keeps the first frame heard on each, for at most `wait` seconds. `parse` is the pure
part: an Ethernet frame in, the four TLVs we report out.

A frame is the Ethernet header (an optional 802.1Q tag before the ethertype), then TLVs, each a
16-bit header (7 bits type, 9 bits length) and its value, ending with type 0. Chassis and port
ids start with a subtype byte that says how to print the rest: a MAC address (4 for chassis,
3 for port), a network address (5: family byte, then the address), or text.
"""

from __future__ import annotations

import logging
import select
import socket
import struct
import time

from ironworks_agent import protocol

log = logging.getLogger("ironworks_agent.lldp")

ETH_P_LLDP = 0x88CC
ETH_P_8021Q = 0x8100
LLDP_MULTICAST = bytes.fromhex("0180c200000e")
SOL_PACKET = 263
PACKET_ADD_MEMBERSHIP = 1
PACKET_MR_MULTICAST = 0

TLV_END, TLV_CHASSIS_ID, TLV_PORT_ID, TLV_PORT_DESCRIPTION, TLV_SYSTEM_NAME = 0, 1, 2, 4, 5
CHASSIS_MAC, PORT_MAC, NETWORK_ADDRESS = 4, 3, 5


def _mac(raw: bytes) -> str:
    return ":".join(f"{b:02x}" for b in raw)


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace").strip("\x00").strip()


def _id(value: bytes, mac_subtype: int) -> str | None:
    if not value:
        return None
    subtype, rest = value[0], value[1:]
    if subtype == mac_subtype and len(rest) == 6:
        return _mac(rest)
    if subtype == NETWORK_ADDRESS and rest:
        family, addr = rest[0], rest[1:]
        if family == 1 and len(addr) == 4:
            return socket.inet_ntop(socket.AF_INET, addr)
        if family == 2 and len(addr) == 16:
            return socket.inet_ntop(socket.AF_INET6, addr)
    return _text(rest)


def parse(frame: bytes) -> protocol.LLDP | None:
    """The LLDP fields of one Ethernet frame, or None when it is not a well-formed LLDP frame."""
    if len(frame) < 14:
        return None
    (ethertype,) = struct.unpack_from("!H", frame, 12)
    offset = 14
    if ethertype == ETH_P_8021Q and len(frame) >= 18:
        (ethertype,) = struct.unpack_from("!H", frame, 16)
        offset = 18
    if ethertype != ETH_P_LLDP:
        return None
    found: protocol.LLDP = {
        "chassis_id": None,
        "port_id": None,
        "system_name": None,
        "port_description": None,
    }
    while offset + 2 <= len(frame):
        (header,) = struct.unpack_from("!H", frame, offset)
        kind, length = header >> 9, header & 0x1FF
        value = frame[offset + 2 : offset + 2 + length]
        if kind == TLV_END or len(value) < length:
            break
        if kind == TLV_CHASSIS_ID:
            found["chassis_id"] = _id(value, CHASSIS_MAC)
        elif kind == TLV_PORT_ID:
            found["port_id"] = _id(value, PORT_MAC)
        elif kind == TLV_PORT_DESCRIPTION:
            found["port_description"] = _text(value)
        elif kind == TLV_SYSTEM_NAME:
            found["system_name"] = _text(value)
        offset += 2 + length
    if found["chassis_id"] is None or found["port_id"] is None:  # both are mandatory
        return None
    return found


def _open(name: str) -> socket.socket | None:
    try:
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_LLDP))
    except (OSError, AttributeError) as e:  # not root, or not Linux
        log.warning("lldp: cannot open a packet socket: %s", e)
        return None
    try:
        sock.bind((name, ETH_P_LLDP))
        ifindex = socket.if_nametoindex(name)
        mreq = struct.pack("iHH8s", ifindex, PACKET_MR_MULTICAST, 6, LLDP_MULTICAST)
        try:
            sock.setsockopt(SOL_PACKET, PACKET_ADD_MEMBERSHIP, mreq)
        except OSError as e:  # still hears the frames if the NIC passes them anyway
            log.debug("lldp: %s: cannot join the LLDP multicast group: %s", name, e)
    except OSError as e:
        log.warning("lldp: %s: %s", name, e)
        sock.close()
        return None
    sock.setblocking(False)
    return sock


def listen(names: list[str], wait: float) -> dict[str, protocol.LLDP | None]:
    """The first LLDP frame heard on each interface within `wait` seconds (None: heard nothing)."""
    found: dict[str, protocol.LLDP | None] = dict.fromkeys(names)
    socks = {s: n for n in names if (s := _open(n)) is not None}
    deadline = time.monotonic() + wait
    try:
        while socks and (left := deadline - time.monotonic()) > 0:
            ready, _, _ = select.select(list(socks), [], [], left)
            for sock in ready:
                try:
                    frame = sock.recv(9216)
                except OSError:
                    continue
                info = parse(frame)
                if info is not None:
                    name = socks.pop(sock)
                    sock.close()
                    found[name] = info
                    log.info(
                        "lldp: %s is on %s port %s",
                        name,
                        info["system_name"] or info["chassis_id"],
                        info["port_id"],
                    )
    finally:
        for sock in socks:
            sock.close()
    return found
