"""A school server that can be stopped and started on the same port, and an enrolled kiosk."""

from __future__ import annotations

import socket

import pytest

from kiosk import store, sync
from server import devices
from server.serving import BackgroundServer


class Server:
    """The school's app behind waitress on a fixed loopback port, switchable off and on."""

    def __init__(self, app):
        self.app = app
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = None

    def start(self):
        self.server = BackgroundServer(self.app, port=self.port)

    def stop(self):
        if self.server:
            self.server.close()
            self.server = None


@pytest.fixture
def school_server(app, staff):
    server = Server(app)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def kiosk_db(tmp_path, db, school_server):
    code = devices.new_code(db, "Lobby desk")
    connection = store.connect(tmp_path / "kiosk.db")
    sync.enrol(connection, school_server.url, code)
    sync.sync(connection)
    yield connection
    connection.close()
