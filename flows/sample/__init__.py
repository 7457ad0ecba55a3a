"""Sample releases of the three sources in their real formats (``python -m flows sample``)."""

from flows.sample.release import SampleSummary, generate_release

__all__ = ["SampleSummary", "generate_release"]
