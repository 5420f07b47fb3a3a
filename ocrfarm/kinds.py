"""Kinds of values a setting or a per-request option takes: how each is parsed, bounded and shown.

Settings arrive as environment strings; options as form strings or typed JSON values. Both are
checked by the same kind, so a bound is stated once (in ocrfarm/settings.py's declarations) and an
error says what was wanted in the same words. A kind raises Invalid with that description; the
caller adds the name (`OCRFARM_PORT must be ...`, `option det_limit_side must be ...`).
"""

from __future__ import annotations

from pathlib import Path

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


class Invalid(ValueError):
    def __init__(self, want: str):
        super().__init__(want)
        self.want = want


class Kind:
    want = "a value"

    def parse(self, raw: str):
        """An environment string (stripped, never empty) to its value."""
        raise NotImplementedError

    def check(self, value):
        """A request's value, a string or already typed (JSON), to its value."""
        return self.parse(value.strip()) if isinstance(value, str) else self.parse(str(value))

    def show(self, value) -> str:
        return str(value)

    def schema(self) -> dict:
        """The JSON Schema of a request's value (server/openapi.py)."""
        return {"type": "string"}


class _Text(Kind):
    want = "text"

    def parse(self, raw: str) -> str:
        return raw


class _Path(Kind):
    want = "a path"

    def parse(self, raw: str) -> Path:
        return Path(raw).expanduser().resolve()


class RedisUrl(Kind):
    want = "a Redis URL, redis://host:port/db"

    def parse(self, raw: str) -> str:
        from urllib.parse import urlsplit

        parts = urlsplit(raw)
        try:
            parts.port  # noqa: B018 - raises on a port that is not a number
        except ValueError:
            raise Invalid(self.want) from None
        path = parts.path.lstrip("/")
        if parts.scheme != "redis" or not parts.hostname or (path and not path.isdigit()):
            raise Invalid(self.want)
        return raw


class _Boolean(Kind):
    want = "true or false"

    def parse(self, raw: str) -> bool:
        lowered = raw.lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise Invalid(self.want)

    def check(self, value) -> bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str):
            return self.parse(value.strip())
        raise Invalid(self.want)

    def show(self, value) -> str:
        return "true" if value else "false"

    def schema(self) -> dict:
        return {"type": "boolean"}


class Integer(Kind):
    def __init__(self, low: int, high: int):
        self.low, self.high = low, high
        self.want = f"a whole number from {low} to {high}"

    def parse(self, raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            raise Invalid(self.want) from None
        if not self.low <= value <= self.high:
            raise Invalid(self.want)
        return value

    def check(self, value) -> int:
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise Invalid(self.want)
        if isinstance(value, int | float):
            return self.parse(str(int(value)))
        return super().check(value)

    def schema(self) -> dict:
        return {"type": "integer", "minimum": self.low, "maximum": self.high}


class Number(Kind):
    def __init__(self, low: float, high: float):
        self.low, self.high = low, high
        self.want = f"a number from {low:g} to {high:g}"

    def parse(self, raw: str) -> float:
        try:
            value = float(raw)
        except ValueError:
            raise Invalid(self.want) from None
        if not self.low <= value <= self.high:
            raise Invalid(self.want)
        return value

    def check(self, value) -> float:
        if isinstance(value, bool):
            raise Invalid(self.want)
        return super().check(value)

    def show(self, value) -> str:
        short = f"{value:g}"  # 20, not 20.0; but never at the cost of a digit
        return short if float(short) == value else repr(float(value))

    def schema(self) -> dict:
        return {"type": "number", "minimum": self.low, "maximum": self.high}


class Choice(Kind):
    def __init__(self, choices: tuple[str, ...]):
        self.choices = choices
        self.want = "one of " + ", ".join(choices)

    def parse(self, raw: str) -> str:
        if raw.lower() not in self.choices:
            raise Invalid(self.want)
        return raw.lower()


class ModelSets(Kind):
    """Comma-separated model set names, each known and each once."""

    def __init__(self, names: tuple[str, ...]):
        self.names = names
        self.want = "one or more of " + ", ".join(names) + ", comma-separated"

    def parse(self, raw: str) -> tuple[str, ...]:
        picked = tuple(part.strip().lower() for part in raw.split(","))
        if any(model not in self.names for model in picked):
            raise Invalid(self.want)
        for model in picked:
            if picked.count(model) > 1:
                why = (
                    " (there is one custom set: the files OCRFARM_DET_MODEL and the others name)"
                    if model == "custom"
                    else ""
                )
                raise Invalid(f"{self.want}, each at most once{why}")
        return picked

    def show(self, value) -> str:
        return ",".join(value)


TEXT = _Text()
PATH = _Path()
BOOLEAN = _Boolean()
