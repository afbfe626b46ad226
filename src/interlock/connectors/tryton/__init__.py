"""Tryton 8.2 connector (JSON-RPC): ERP and PSA, the open-source peer we test against for real.

The connector needs only HTTP; ``interlock.connectors.tryton.server`` sets up and runs a
Tryton server and needs the ``tryton`` extra (``pip install 'interlock[tryton]'``).
"""

from interlock.connectors.tryton.client import TrytonConnector
from interlock.connectors.tryton.config import TrytonConfig
from interlock.connectors.tryton.invoicing import InvoicedLine, ProjectInvoice
from interlock.connectors.tryton.rpc import TrytonRpc

__all__ = ["InvoicedLine", "ProjectInvoice", "TrytonConfig", "TrytonConnector", "TrytonRpc"]
