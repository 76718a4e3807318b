"""Every invalid input raises a specific RotaError (also a ValueError) naming the field."""


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
