#!/usr/bin/env python3
"""Writes the hand-made seed corpus for the ctl_roundtrip fuzz target (fuzz/corpus/ctl_roundtrip/).

Every byte is laid out here by hand (tag, 2-byte big-endian length, value; containers 3/7/9
carry the size of their inline children; lone 0x0D padding). Small key and certificate
stand-ins keep the seeds tiny so the fuzzer mutates structure, not bulk. Re-run to regenerate.
"""
import os
import struct

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "ctl_roundtrip")


def item(tag, value):
    return bytes([tag]) + struct.pack(">H", len(value)) + value


def container(tag, *children):
    inner = b"".join(children)
    return bytes([tag]) + struct.pack(">H", len(inner)) + inner


def s(text):
    return text.encode() + b"\0"


def header(sig_len=64, digest=1, signer_version=None, certutils_order=False, extra=b"", filename="CTLFile.tlv"):
    signer_id = (
        container(3, item(4, s("CN=a")), item(6, s("CN=ca")), item(5, b"\x01\x02"))
        if certutils_order
        else container(3, item(4, s("CN=a")), item(5, b"\x01\x02"), item(6, s("CN=ca")))
    )
    index = {64: 0, 128: 1, 256: 2, 512: 3}.get(sig_len, 9)
    body = (
        (item(28, bytes(signer_version)) if signer_version else b"")
        + signer_id
        + container(7, item(8, bytes([digest])), container(9, item(10, b"\0"), item(11, bytes([index]))))
        + item(12, bytes(range(sig_len)))
        + item(14, s(filename))
        + item(15, b"\x55\x4a\xd7\xb7")
        + extra
    )
    unpadded = 5 + 5 + len(body)
    padding = (4 - unpadded % 4) % 4
    total = unpadded + padding
    return item(1, b"\x01\x02") + item(2, struct.pack(">H", total)) + body + b"\x0d" * padding


def record(*items):
    inner = b"".join(items)
    return item(1, struct.pack(">H", 5 + len(inner))) + inner


def full_record(tags, role=0, dns="", ip=b"\x0a\x00\x00\x01"):
    values = {
        2: s(dns),
        3: s("CN=a"),
        4: struct.pack(">H", role),
        5: s("CN=ca"),
        6: b"\x01\x02",
        7: b"\x30\x06\x02\x01\x05\x02\x01\x03",
        8: b"\xaa\xbb",
        9: b"\x30\x03\x02\x01\x00",
        10: ip,
        11: bytes(20),
        12: b"\x01",
    }
    return record(*(item(tag, values[tag]) for tag in tags))


SEEDS = {
    "min-header-only": item(1, b"\x01\x02") + item(2, b"\x00\x0a"),
    "variant-a": header() + full_record(range(2, 11), role=0, dns="cucm") + full_record(range(2, 11), role=2),
    "variant-b-token": header() + full_record([2, 3, 4, 5, 6, 7, 9, 10], role=0),
    "variant-c": header() + full_record([2, 3, 4, 5, 6, 7, 9, 10], role=4, dns="capf"),
    "variant-d": header() + record(item(2, s("192.168.1.10")), item(4, b"\x00\x01"), item(10, b"\xc0\xa8\x01\x0a")),
    "variant-e": header(digest=3) + full_record([3, 4, 5, 6, 7, 8, 9], role=0),
    "variant-f-tag28": header(signer_version=(1, 1), certutils_order=True)
    + full_record([3, 5, 6, 4, 7, 8, 9], role=21),
    "cert-hash": header() + full_record([2, 3, 4, 5, 6, 7, 9, 10, 11, 12], role=1),
    "unknown-repeated": header(extra=item(99, b"x") + item(15, b"\0\0\0\0"))
    + record(item(4, b"\x00\x06"), item(200, b""), item(4, b"\x00\x07"), item(13, b"\x0d")),
    "sha512-2048": header(sig_len=256, digest=3, filename="ITLFile.tlv") + full_record(range(2, 11), role=21),
}

if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
