"""Outbound webhooks: canonical events POSTed to a subscriber's URL, many in flight at once."""

from interlock.connectors.webhook.connector import WebhookConfig, WebhookConnector

__all__ = ["WebhookConfig", "WebhookConnector"]
