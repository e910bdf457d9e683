"""Small domain exceptions. The CLI and the web turn them into plain messages."""


class PaperBridgeError(Exception):
    """Base class: the message is written for an office worker to read."""


class NotInitialized(PaperBridgeError):
    pass


class UnknownFamily(PaperBridgeError):
    pass


class UnknownNotice(PaperBridgeError):
    pass


class NotPublished(UnknownNotice):
    """A notice before its publish time: to families and their channels it does not exist yet."""


class ImpossibleTime(PaperBridgeError, ValueError):
    """A read or answer dated before its notice was published: some clock or some match is wrong."""


class UnknownEvent(PaperBridgeError):
    pass


class BadSignature(PaperBridgeError):
    pass


class UnknownCall(PaperBridgeError):
    """A phone-line webhook names a call that never started here."""


class BadCode(PaperBridgeError):
    pass


class ImportFailed(PaperBridgeError):
    pass


class NoSpeech(PaperBridgeError):
    """The offline speech tools (espeak-ng, ffmpeg) are not installed."""


class BadRecording(PaperBridgeError, ValueError):
    """An uploaded recording that cannot be used (not audio, empty, too long)."""
