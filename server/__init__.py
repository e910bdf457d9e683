"""The PaperBridge hub: database, roster, notices, read ledger, staff web and API."""

from server.app import create_app

__all__ = ["create_app"]
