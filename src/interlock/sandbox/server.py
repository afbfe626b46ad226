"""Sandboxes are served like any of our ASGI apps: on a localhost port, from a thread."""

from interlock.serving import ThreadedServer as SandboxServer
from interlock.serving import free_port

__all__ = ["SandboxServer", "free_port"]
