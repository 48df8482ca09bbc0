"""Benchmark: a real `doorstep serve` under many web chat sockets sending oversized frames.

Issue 16: uvicorn used to take WebSocket frames up to its 16 MiB default before the app's own
8 KB check, so 20 sockets of 15 MiB frames took the server from 143 to 741 MB. Now uvicorn's
ws_max_size equals the app's limit and refuses such a frame when its header arrives.

Each socket is a raw WebSocket client (one visitor each): it says hello, then announces one
frame of --frame-mib MiB and streams it in 64 KB chunks (masked with a zero key, so the
client holds no copy), until the server closes. The server's resident memory (VmRSS) is
sampled every 10 ms; the baseline is the same server idle, measured in the same run.

    python bench/webchat_memory.py                     # 200 sockets, 15 MiB frames
    python bench/webchat_memory.py --tree /tmp/old --sockets 20   # another checkout, e.g.
                                                        # the code before the fix

Target: peak RSS under 300 MB with 200 sockets. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import secrets
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
CHUNK = b"x" * 65536
TARGET_MB = 300.0


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def frame_header(length: int) -> bytes:
    """A masked text frame header announcing `length` bytes, mask key 0 (payload as is)."""
    if length < 126:
        head = struct.pack("!BB", 0x81, 0x80 | length)
    elif length < 65536:
        head = struct.pack("!BBH", 0x81, 0x80 | 126, length)
    else:
        head = struct.pack("!BBQ", 0x81, 0x80 | 127, length)
    return head + b"\0\0\0\0"


async def one_socket(port: int, cookie: str, size: int) -> str:
    """Returns how it ended: 'refused' (closed before the frame was all sent) or 'sent'."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    key = base64.b64encode(secrets.token_bytes(16)).decode()
    writer.write(
        (
            f"GET /chat/ws?lang=en HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"Cookie: {cookie}\r\n\r\n"
        ).encode()
    )
    await reader.readuntil(b"\r\n\r\n")
    hello = json.dumps({"type": "hello", "token": None}).encode()
    writer.write(frame_header(len(hello)) + hello)
    outcome = "sent"
    try:
        writer.write(frame_header(size))
        sent = 0
        while sent < size:
            part = CHUNK[: min(len(CHUNK), size - sent)]
            writer.write(part)
            await writer.drain()
            sent += len(part)
        await asyncio.wait_for(reader.read(), 30)  # until the server closes
    except (ConnectionError, TimeoutError, asyncio.IncompleteReadError):
        outcome = "refused"
    finally:
        writer.close()
        try:
            await writer.wait_closed()
        except ConnectionError:
            pass
    return "refused" if sent < size else outcome


async def run(port: int, pid: int, sockets: int, frame_mib: float) -> dict[str, object]:
    base = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient(base_url=base) as http:
        cookies = []
        for _ in range(sockets):
            http.cookies.clear()
            r = await http.get("/chat")
            cookies.append("; ".join(f"{k}={v}" for k, v in r.cookies.items()))
    await asyncio.sleep(1.0)
    idle = rss_mb(pid)
    peak = [idle]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], rss_mb(pid))
            time.sleep(0.01)

    sampler = threading.Thread(target=sample)
    sampler.start()
    started = time.monotonic()
    size = int(frame_mib * 1024 * 1024)
    outcomes = await asyncio.gather(*(one_socket(port, c, size) for c in cookies))
    await asyncio.sleep(1.0)
    stop.set()
    sampler.join()
    return {
        "sockets": sockets,
        "frame_mib": frame_mib,
        "idle_rss_mb": round(idle, 1),
        "peak_rss_mb": round(peak[0], 1),
        "growth_mb": round(peak[0] - idle, 1),
        "ratio_to_idle": round(peak[0] / idle, 2) if idle else None,
        "refused_early": outcomes.count("refused"),
        "seconds": round(time.monotonic() - started, 2),
        "target_mb": TARGET_MB,
        "ok": peak[0] < TARGET_MB,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sockets", type=int, default=200)
    parser.add_argument("--frame-mib", type=float, default=15.0)
    parser.add_argument("--tree", type=Path, default=ROOT, help="checkout to serve")
    args = parser.parse_args()
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "WECHAT_"))}
        env |= {
            "DOORSTEP_DB": str(Path(tmp) / "bench.sqlite3"),
            "DOORSTEP_WEB_NEW_VISITORS_PER_HOUR": str(args.sockets * 10),
            "PYTHONPATH": str(args.tree),
        }
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=args.tree,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            deadline = time.monotonic() + 60  # start-up wait
            while True:
                try:
                    httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                    break
                except httpx.TransportError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        print(proc.stderr.read() if proc.stderr else "", file=sys.stderr)
                        return 2
                    time.sleep(0.2)
            result = asyncio.run(run(port, proc.pid, args.sockets, args.frame_mib))
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    result["tree"] = "this checkout" if args.tree == ROOT else str(args.tree)
    print(
        f"{result['sockets']} sockets × {result['frame_mib']} MiB frames: server RSS "
        f"{result['idle_rss_mb']} MB idle → peak {result['peak_rss_mb']} MB",
        file=sys.stderr,
    )
    print(json.dumps(result))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
