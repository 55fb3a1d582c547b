#!/usr/bin/env python3
"""Writes the hand-made seed corpus for the tftp_packet fuzz target (fuzz/corpus/tftp_packet/).

Each seed is a datagram laid out by hand from RFC 1350 / 2347 / 2348 / 2349 / 7440: well-formed
packets of every opcode, the option sets real clients send (curl, atftp, tftp-hpa, phones),
and malformed ones (truncated, unterminated, odd opcodes). Re-run to regenerate.
"""
import os
import struct

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "tftp_packet")


def op(code):
    return struct.pack(">H", code)


def z(text):
    return text.encode() + b"\0"


def request(code, name, mode, *options):
    return op(code) + z(name) + z(mode) + b"".join(z(o) for o in options)


SEEDS = {
    "rrq_plain": request(1, "CTLFile.tlv", "octet"),
    "rrq_netascii": request(1, "SEP001E4A93748B.cnf.xml", "netascii"),
    "rrq_curl": request(1, "CTLSEP001E4A93748B.tlv", "octet", "tsize", "0", "blksize", "512", "timeout", "6"),
    "rrq_atftp": request(1, "ITLFile.tlv", "octet", "blksize", "1468", "windowsize", "16", "tsize", "0"),
    "rrq_mixed_case": request(1, "ITLSEP001E4A93748B.tlv", "OCTET", "BLKSIZE", "65464", "WindowSize", "65535"),
    "rrq_unknown_options": request(1, "a", "octet", "multicast", "", "rollover", "0", "blksize", "x"),
    "rrq_padded": request(1, "a", "octet", "blksize", "1024") + b"\0\0\0",
    "rrq_mail": request(1, "root", "mail"),
    "wrq": request(2, "evil.tlv", "octet", "tsize", "1000"),
    "data_first": op(3) + struct.pack(">H", 1) + bytes(range(64)),
    "data_empty": op(3) + struct.pack(">H", 0),
    "data_rollover": op(3) + struct.pack(">H", 65535) + b"tail",
    "ack_0": op(4) + struct.pack(">H", 0),
    "ack_padded": op(4) + struct.pack(">H", 7) + b"\0\0",
    "error_8": op(5) + struct.pack(">H", 8) + z("option negotiation refused"),
    "error_no_nul": op(5) + struct.pack(">H", 1) + b"File not found",
    "oack": op(6) + z("blksize") + z("1468") + z("tsize") + z("4096") + z("windowsize") + z("16"),
    "oack_empty": op(6),
    "trunc_rrq": op(1) + b"CTLFile.tlv",
    "trunc_option": op(1) + z("a") + z("octet") + z("blksize"),
    "trunc_ack": op(4) + b"\x01",
    "bad_opcode": op(9) + b"\0\0",
    "one_byte": b"\x00",
    "bad_utf8": op(1) + b"\xff\xfe\0octet\0",
}

if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
    print(f"wrote {len(SEEDS)} seeds to {OUT}")
