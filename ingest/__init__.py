"""phenowatch ingest: vendor exports and PHQ-9 files in, polars frames with fixed schemas out.

Knows file formats and nothing else: no database, no HTTP, no detection.
"""

from ingest.load import Loaded, load
from ingest.nights import build_nights

__all__ = ["Loaded", "build_nights", "load"]
