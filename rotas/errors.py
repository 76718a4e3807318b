"""Every invalid input raises a specific RotaError (also a ValueError) whose
message names the offending field."""


class RotaError(ValueError):
    pass


class NaiveDatetimeError(RotaError):
    pass


class UnknownTimeZoneError(RotaError):
    pass


class EmptyLayerError(RotaError):
    pass


class InvalidTurnError(RotaError):
    pass


class InvalidRestrictionError(RotaError):
    pass


class InvalidLayerError(RotaError):
    """A layer's name, anchor, turn, participants or restrictions have the wrong shape."""


class InvalidOverrideError(RotaError):
    """An override ends at or before its start, or names no person."""


class InvalidWindowError(RotaError):
    """A query window [start, end) ends before it starts."""
