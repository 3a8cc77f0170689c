"""Errors the parsers raise. Both say *where* in the input the problem is."""

from __future__ import annotations


class PayloadError(ValueError):
    """A payload does not have the shape a parser needs.

    `str(err)` is `"<path>: <message>"`, e.g. `alerts[0].labels: expected an object, got list`,
    so a webhook can answer 400 with it and a person can fix the sender.
    """

    def __init__(self, message: str, path: str = "") -> None:
        self.message = message
        self.path = path
        super().__init__(f"{path}: {message}" if path else message)


class UnknownFormat(PayloadError):
    """`detect_and_parse` could not tell which alert format a payload is."""

    def __init__(self, hint: str, formats: tuple[str, ...]) -> None:
        self.formats = formats
        super().__init__(f"{hint}; supported formats: {', '.join(formats)}", "")
