#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Write the seed corpus of fuzz_virtio_blk (see the layout in
fuzz_virtio_blk.c): a few well-formed requests so fuzzing starts from chains
the request path accepts. Usage: gen_corpus_virtio_blk.py OUTDIR"""
import os
import struct
import sys

RAM = 0x10000
QLOG2 = 3                      # 8 entries
DESC, AVAIL, USED = 0x0, 0x100, 0x200
INDIRECT = 0x400
HDR, DATA, STATUS = 0x1000, 0x2000, 0x3000
F_NEXT, F_WRITE, F_INDIRECT = 1, 2, 4
T_IN, T_OUT, T_FLUSH, T_GET_ID, T_DISCARD, T_WZ = 0, 1, 4, 8, 11, 13
EVENT_IDX, READONLY, DISCARD = 1, 2, 4


class Guest:
    def __init__(self, flags=0):
        self.ram = bytearray(RAM)
        self.flags = flags
        self.heads = []
        self.next_desc = 0
        self.next_hdr = HDR

    def put(self, addr, data):
        self.ram[addr:addr + len(data)] = data

    def desc(self, table, i, addr, length, flags, nxt):
        self.put(table + 16 * i, struct.pack("<QIHH", addr, length, flags, nxt))

    def chain(self, parts):
        """parts: (addr, len, writable) in order; returns the head index."""
        head = self.next_desc
        for k, (addr, length, w) in enumerate(parts):
            i = head + k
            last = k == len(parts) - 1
            self.desc(DESC, i, addr, length,
                      (0 if last else F_NEXT) | (F_WRITE if w else 0), i + 1)
        self.next_desc += len(parts)
        self.heads.append(head)
        return head

    def request(self, rtype, sector, data_len=0, data_write=False, payload=b""):
        hdr = self.next_hdr
        self.next_hdr += 0x40
        self.put(hdr, struct.pack("<IIQ", rtype, 0, sector))
        parts = [(hdr, 16, False)]
        if payload:
            self.put(hdr + 16, payload)
            parts.append((hdr + 16, len(payload), False))
        if data_len:
            parts.append((DATA, data_len, data_write))
        parts.append((STATUS + len(self.heads), 1, True))
        return self.chain(parts)

    def indirect_read(self, sector):
        self.put(HDR + 0x800, struct.pack("<IIQ", T_IN, 0, sector))
        entries = [(HDR + 0x800, 16, 0), (DATA, 512, F_WRITE), (STATUS + 0x80, 1, F_WRITE)]
        for k, (addr, length, fl) in enumerate(entries):
            last = k == len(entries) - 1
            self.desc(INDIRECT, k, addr, length, fl | (0 if last else F_NEXT), k + 1)
        head = self.next_desc
        self.desc(DESC, head, INDIRECT, 16 * len(entries), F_INDIRECT, 0)
        self.next_desc += 1
        self.heads.append(head)

    def blob(self):
        for n, head in enumerate(self.heads):
            self.put(AVAIL + 4 + 2 * n, struct.pack("<H", head))
        self.put(AVAIL, struct.pack("<HH", 0, len(self.heads)))
        hdr = bytes([QLOG2, self.flags]) + struct.pack("<HHH", DESC, AVAIL, USED)
        # trailing zeroes are implied: keep seeds small
        return hdr + bytes(self.ram[:0x3100])


def seeds():
    g = Guest(); g.request(T_IN, 2, 512, True); yield "read", g
    g = Guest(); g.put(DATA, bytes(range(256)) * 4); g.request(T_OUT, 5, 1024); yield "write", g
    g = Guest(); g.request(T_FLUSH, 0); yield "flush", g
    g = Guest(); g.request(T_GET_ID, 0, 20, True); yield "get_id", g
    seg = struct.pack("<QII", 8, 8, 0)
    g = Guest(DISCARD); g.request(T_DISCARD, 0, payload=seg); yield "discard", g
    seg = struct.pack("<QII", 16, 4, 1)
    g = Guest(DISCARD); g.request(T_WZ, 0, payload=seg); yield "write_zeroes", g
    g = Guest(); g.request(99, 0, 512, True); yield "unknown", g
    g = Guest(READONLY); g.request(T_OUT, 0, 512); yield "readonly_write", g
    g = Guest(); g.indirect_read(3); yield "indirect_read", g
    g = Guest(EVENT_IDX)
    g.request(T_OUT, 1, 512); g.request(T_IN, 1, 512, True); g.request(T_FLUSH, 0)
    yield "mixed_event_idx", g


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "corpus", "virtio_blk")
    os.makedirs(out, exist_ok=True)
    for name, g in seeds():
        with open(os.path.join(out, name), "wb") as f:
            f.write(g.blob())


if __name__ == "__main__":
    main()
