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


class QueueFull(OcrFarmError):
    """The queue holds as many jobs (or bytes) as its limit allows; the upload waits at the client."""


class QueueUnavailable(OcrFarmError):
    """The queue cannot be reached (Redis is down or unreachable): the farm's trouble, not the job's."""


class LeaseLost(OcrFarmError):
    """The worker's lease on a job ran out and another worker has it: its commit is refused."""
