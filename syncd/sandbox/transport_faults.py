"""Faults below HTTP: a connection cut instead of answered, a TLS handshake that fails.

Both reach under the ASGI and uvicorn surfaces on purpose (this is a test org): a cut
aborts the transport of the request's connection with SO_LINGER 0, so the client sees a
TCP reset, and a handshake fault is the SSL context's SNI callback answering a
handshake_failure alert (it runs for every new connection, SNI or not).
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import struct
from collections.abc import Callable
from typing import Any

import uvicorn

_RESET_ON_CLOSE = struct.pack("ii", 1, 0)  # SO_LINGER on, 0 s: close() sends RST
_TURNS = 20


async def cut(send: Callable[..., Any]) -> bool:
    """Reset the connection the ASGI ``send`` belongs to; False if it cannot be found."""
    cycle = getattr(send, "__self__", None)  # uvicorn's RequestResponseCycle
    transport = getattr(cycle, "transport", None)
    if not isinstance(transport, asyncio.Transport):
        return False
    raw = transport.get_extra_info("socket")
    if raw is not None:
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _RESET_ON_CLOSE)
    transport.abort()
    # Let uvicorn see the connection go (TLS takes a few loop turns) before the app
    # returns, or it reports an app that "returned without starting response".
    for _ in range(_TURNS):
        if getattr(cycle, "disconnected", True):
            break
        await asyncio.sleep(0)
    return True


def with_handshake_faults(config: uvicorn.Config, fails: Callable[[], bool]) -> uvicorn.Config:
    """``config``, loaded, its TLS context failing the handshakes ``fails`` picks."""
    config.load()  # builds config.ssl; uvicorn does not load a loaded config again
    if config.ssl is not None:

        def on_hello(obj: ssl.SSLObject, name: str | None, context: ssl.SSLContext) -> int | None:
            return ssl.ALERT_DESCRIPTION_HANDSHAKE_FAILURE if fails() else None

        config.ssl.sni_callback = on_hello
    return config
