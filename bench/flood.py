#!/usr/bin/python3
"""Floods a server with half-sent requests and holds them, for bench/memory.sh.

  flood.py HOST PORT MODE CONNS SECONDS [BODY_LEN [PATH]]

MODE proxy: each connection sends the first half of a PROXY v2 header (the 12-byte signature and
            two more bytes), then nothing.
MODE body:  each connection sends a complete request head for POST PATH with Content-Length
            BODY_LEN (default 1,000,000) and then BODY_LEN / 2 bytes of it; a server that refuses
            the length (413) closes the connection, counted as "closed by the server".
Connections are opened as fast as the server accepts them and held until SECONDS have passed
since the start. Prints one line: how many connected, how many were fully sent, how many the
server had closed by the end. Loopback only; bounded in count and time; stops by itself.
"""
import selectors
import socket
import sys
import time


def main(argv):
    host, port, mode, conns, seconds = argv[1], int(argv[2]), argv[3], int(argv[4]), float(argv[5])
    body_len = int(argv[6]) if len(argv) > 6 else 1000000
    path = argv[7] if len(argv) > 7 else "/"
    if host not in ("127.0.0.1", "::1", "localhost") or conns > 20000 or seconds > 600:
        sys.exit("loopback only, at most 20000 connections and 600 s")
    if mode == "proxy":
        payload = b"\r\n\r\n\x00\r\nQUIT\n\x21\x11"
    elif mode == "body":
        head = (f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                f"Content-Length: {body_len}\r\n\r\n").encode()
        payload = head + b"a" * (body_len // 2)
    else:
        sys.exit("MODE: proxy or body")
    sel = selectors.DefaultSelector()
    start = time.monotonic()
    state = {}  # sock -> bytes sent
    connected = sent_all = closed = failed = 0
    opened = 0
    while time.monotonic() - start < seconds:
        # open a batch of new connections
        while opened < conns and len(state) < conns and opened - connected - failed < 256:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            s.connect_ex((host, port))
            state[s] = -1  # connecting
            sel.register(s, selectors.EVENT_WRITE | selectors.EVENT_READ)
            opened += 1
        for key, ev in sel.select(timeout=0.05):
            s = key.fileobj
            off = state[s]
            if ev & selectors.EVENT_READ:
                try:
                    data = s.recv(4096)
                except OSError:
                    data = b""
                if not data:  # closed by the server (or refused)
                    if off < 0:
                        failed += 1
                    else:
                        closed += 1
                    sel.unregister(s)
                    s.close()
                    del state[s]
                    continue
            if ev & selectors.EVENT_WRITE:
                if off < 0:
                    if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) != 0:
                        failed += 1
                        sel.unregister(s)
                        s.close()
                        del state[s]
                        continue
                    connected += 1
                    off = 0
                try:
                    off += s.send(payload[off:off + 262144])
                except BlockingIOError:
                    pass
                except OSError:
                    closed += 1
                    sel.unregister(s)
                    s.close()
                    del state[s]
                    continue
                state[s] = off
                if off >= len(payload):
                    sent_all += 1
                    sel.modify(s, selectors.EVENT_READ)
    for s in list(state):
        s.close()
    print(f"{mode} flood: {opened} opened, {connected} connected, {sent_all} sent their half, "
          f"{closed} closed by the server, {failed} failed to connect, {len(state)} still open at the end")


if __name__ == "__main__":
    main(sys.argv)
