"""The PaperBridge hub: the domain (database, roster, notices, read ledger), the staff web and API.

Empty on purpose: importing the domain (``from server import ledger``) must not start the web
stack. The app factory is ``server.app.create_app``.
"""
