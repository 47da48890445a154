#!/usr/bin/env python3
"""tcp-sink.py ADDR PORT OUT [SECONDS]: host side of a guest's TCP upload.

Listens on ADDR:PORT, accepts one connection, reads it to EOF and writes
"BYTES SHA256" (of what it received) to OUT, then exits 0. Writes OUT.ready
once it listens, so the caller can start the guest only then. Gives up
after SECONDS (default 300) with "0 timeout" in OUT and exit status 1.
"""
import hashlib
import socket
import sys


def main():
    addr, port, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    limit = float(sys.argv[4]) if len(sys.argv) > 4 else 300.0
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((addr, port))
    srv.listen(1)
    srv.settimeout(limit)
    open(out + ".ready", "w").close()
    try:
        conn, _ = srv.accept()
        conn.settimeout(limit)
        digest, total = hashlib.sha256(), 0
        while True:
            chunk = conn.recv(1 << 16)
            if not chunk:
                break
            digest.update(chunk)
            total += len(chunk)
        conn.close()
    except socket.timeout:
        with open(out, "w") as f:
            f.write("0 timeout\n")
        return 1
    with open(out, "w") as f:
        f.write(f"{total} {digest.hexdigest()}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
