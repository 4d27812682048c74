"""The audit load's helper process: page bodies in, the store's rows out, on two pipes.

    python -m console.audit.decode_child

Each message, both ways, is a 4-byte big-endian length and its bytes. The first message out is
``ready`` (sent once the decoder is imported); then, for each page in, one answer out, in order:
``["ok", rows, categories, skipped]`` or ``["unreadable", reason]`` as JSON. The helper ends when
its stdin closes (the loader finished, or the console died).
"""

from __future__ import annotations

import sys
from typing import BinaryIO

import orjson

from console.audit.page_rows import PageUnreadable, page_rows

__all__ = ["main"]


def _send(out: BinaryIO, payload: bytes) -> None:
    out.write(len(payload).to_bytes(4, "big") + payload)
    out.flush()


def main() -> int:
    inp, out = sys.stdin.buffer, sys.stdout.buffer
    _send(out, b"ready")
    while True:
        head = inp.read(4)
        if len(head) < 4:
            return 0
        body = inp.read(int.from_bytes(head, "big"))
        try:
            rows, skipped = page_rows(body)
            answer = ["ok", rows.rows, rows.categories, skipped]
        except PageUnreadable as exc:
            answer = ["unreadable", str(exc)]
        _send(out, orjson.dumps(answer))


if __name__ == "__main__":
    sys.exit(main())
