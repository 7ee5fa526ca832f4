#!/usr/bin/env python3
"""Send crafted ARP frames on an interface (test peer for the netwatch namespace tests).

Run inside a test-made network namespace only (needs CAP_NET_RAW there):
  arp_send.py IFACE OP SENDER_MAC SENDER_IP TARGET_IP [DST_MAC] [COUNT]
OP is 'request' or 'reply'. DST_MAC defaults to broadcast; a reply's target hardware
address is DST_MAC, or the sender's own MAC for a broadcast gratuitous reply (RFC 5227).
"""
import socket
import sys
import time


def mac_bytes(mac: str) -> bytes:
    return bytes(int(x, 16) for x in mac.split(':'))


def main() -> int:
    if len(sys.argv) < 6:
        sys.stderr.write(__doc__)
        return 2
    iface, op, smac, sip, tip = sys.argv[1:6]
    dst = sys.argv[6] if len(sys.argv) > 6 else 'ff:ff:ff:ff:ff:ff'
    count = int(sys.argv[7]) if len(sys.argv) > 7 else 1
    opcode = {'request': 1, 'reply': 2}[op]
    if opcode == 1:
        tha = b'\x00' * 6
    else:
        tha = mac_bytes(smac) if dst == 'ff:ff:ff:ff:ff:ff' else mac_bytes(dst)
    frame = (
        mac_bytes(dst) + mac_bytes(smac) + b'\x08\x06'
        + b'\x00\x01\x08\x00\x06\x04' + opcode.to_bytes(2, 'big')
        + mac_bytes(smac) + socket.inet_aton(sip) + tha + socket.inet_aton(tip)
    )
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    for i in range(count):
        s.send(frame)
        if i + 1 < count:
            time.sleep(0.05)
    s.close()
    return 0


if __name__ == '__main__':
    sys.exit(main())
