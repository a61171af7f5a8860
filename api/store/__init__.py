"""phenowatch's tables. Importing this package registers every model on ``Base.metadata``."""

from __future__ import annotations

from api.store.base import Base

__all__ = ["Base"]
