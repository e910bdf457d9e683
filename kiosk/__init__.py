"""The help-desk kiosk: an offline-first edge node with its own replica and outbox."""
