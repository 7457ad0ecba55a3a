"""The one error a public dataset raises when it cannot be ingested."""


class DatasetError(RuntimeError):
    """One dataset could not be ingested; the message names the file, where, and what."""
