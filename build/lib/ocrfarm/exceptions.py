"""The project's exceptions. One base class, so callers at a loop boundary can catch ours only."""


class OcrFarmError(Exception):
    """Base class of every error the project raises on purpose."""


class ConfigurationError(OcrFarmError):
    """A setting is missing or invalid. Raised once, at start-up; the message names the setting."""


class ImageError(OcrFarmError):
    """An input is not an image we can read. `code` is the stable machine-readable reason."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message
