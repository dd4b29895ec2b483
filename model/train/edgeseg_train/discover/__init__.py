"""Segment discovery on any CSV of customer or session rows: cluster, describe, turn into draft rules."""


class DiscoveryError(Exception):
    """Bad input (missing file, unknown field, nothing usable): the message says what and where."""
