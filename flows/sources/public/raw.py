"""What every public dataset builder shares: the raw file handle and numeric columns."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import IO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from flows.sources.public.errors import DatasetError

UF_CODES = 100  # UF codes are two digits: arrays indexed by code


@dataclass(frozen=True)
class RawFile:
    """A dataset's raw file: a name for messages and a way to open it (seekable)."""

    file: str
    open: Callable[[], IO[bytes]]


def numbers(batch: pa.RecordBatch, columns: list[str], file: str, line: int) -> list[np.ndarray]:
    """The batch's columns as numpy (UF as an integer index); a blank value is an error.

    ``line`` is the file line of the batch's first record, for the message.
    """
    arrays = []
    for name in columns:
        column = batch.column(name)
        if column.null_count:
            blank = int(pc.index(pc.is_null(column), True).as_py())
            raise DatasetError(f"{file}: line {line + blank}: {name} is blank")
        if name == "UF":
            column = column.cast(pa.int64())
        arrays.append(column.to_numpy())
    return arrays
