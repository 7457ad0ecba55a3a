"""The one table of what ``policy.toml`` can name: column actions, detectors, their options.

``policy.py`` validates a policy against these tables and ``engine.py`` runs what they point
at, so a new action, detector, generalisation or normalisation is one entry here (plus its
Arrow function) and both sides know it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import pyarrow as pa
import pyarrow.compute as pc

from flows.scrub.detectors import (
    CNPJ_TOKEN,
    CPF_TOKEN,
    EMAIL_TOKEN,
    PHONE_TOKEN,
    detect_cnpj,
    detect_cpf,
    detect_email,
    detect_phone,
)
from flows.scrub.pseudonym import hmac_hex, normalize_cnpj_column


class ColumnRule(Protocol):
    """What an action reads of a column rule (``flows.scrub.policy.ColumnRule`` is one;
    the registry sits below the policy, so it names only what it needs)."""

    @property
    def action(self) -> str: ...

    @property
    def normalize(self) -> str | None: ...

    @property
    def to(self) -> str | None: ...


MASK_TOKEN = "[REMOVIDO]"


# ---------------------------------------------------------------- helpers the actions share
def is_text(data_type: pa.DataType) -> bool:
    return pa.types.is_string(data_type) or pa.types.is_large_string(data_type)


def plain(column: pa.Array) -> pa.Array:
    """Dictionary and string-view columns as plain strings, so every kernel accepts them."""
    if pa.types.is_dictionary(column.type):
        column = column.dictionary_decode()
    if pa.types.is_string_view(column.type):
        column = column.cast(pa.string())
    return column


def as_text(column: pa.Array) -> pa.Array:
    return column if is_text(column.type) else column.cast(pa.string())


# ---------------------------------------------------------------- detectors
@dataclass(frozen=True)
class Detector:
    """A detector of identifiers in free text: ``find`` masks hits with ``token``."""

    token: str
    find: Callable[[pa.Array], tuple[pa.Array, int]]
    by_default: bool  # runs on kept text columns whose rule lists no detectors


# In run order: e-mails before CNPJs before CPFs (a CPF is never read inside a CNPJ), phones
# last (their digit runs would otherwise eat identifiers).
DETECTORS: dict[str, Detector] = {
    "email": Detector(EMAIL_TOKEN, detect_email, by_default=True),
    "cnpj": Detector(CNPJ_TOKEN, detect_cnpj, by_default=False),
    "cpf": Detector(CPF_TOKEN, detect_cpf, by_default=True),
    "phone": Detector(PHONE_TOKEN, detect_phone, by_default=True),
}
DEFAULT_TEXT_DETECTORS = tuple(name for name, entry in DETECTORS.items() if entry.by_default)


# ---------------------------------------------------------------- parameters of the actions
def _floor_month(column: pa.Array) -> pa.Array:
    if pa.types.is_timestamp(column.type) or pa.types.is_date(column.type):
        return pc.floor_temporal(column, unit="month")
    raise TypeError(f"generalize to month needs a date or timestamp column, got {column.type}")


def _cep5(column: pa.Array) -> pa.Array:
    digits = pc.replace_substring_regex(as_text(column), r"[^0-9]", "")
    return pc.utf8_slice_codeunits(digits, 0, 5)


GENERALIZATIONS: dict[str, Callable[[pa.Array], pa.Array]] = {
    "cep5": _cep5,  # CEP -> its 5-digit sector prefix
    "month": _floor_month,  # date -> the 1st of its month
}
NORMALIZATIONS: dict[str, Callable[[pa.Array], pa.Array]] = {
    "cnpj": normalize_cnpj_column,  # hash the 14-character CNPJ whatever its punctuation
}


# ---------------------------------------------------------------- actions
def _keep(column: pa.Array, rule: ColumnRule, key: bytes) -> pa.Array:
    return column  # the engine has already put pseudonyms in and masked detector hits


def _hash(column: pa.Array, rule: ColumnRule, key: bytes) -> pa.Array:
    source = as_text(column)
    if rule.normalize is not None:
        source = NORMALIZATIONS[rule.normalize](source)
    return hmac_hex(source, key)


def _mask(column: pa.Array, rule: ColumnRule, key: bytes) -> pa.Array:
    return pc.if_else(pc.is_valid(column), pa.scalar(MASK_TOKEN), pa.scalar(None, pa.string()))


def _generalize(column: pa.Array, rule: ColumnRule, key: bytes) -> pa.Array:
    return GENERALIZATIONS[str(rule.to)](column)  # the policy check made ``to`` one of these


@dataclass(frozen=True)
class Action:
    """What a column rule's ``action`` does to the column."""

    apply: Callable[[pa.Array, ColumnRule, bytes], pa.Array] | None  # None: column removed
    options: frozenset[str] = frozenset()  # rule keys it takes besides action and reason
    suffix: str = ""  # the written column is named ``<column><suffix>``


ACTIONS: dict[str, Action] = {
    "keep": Action(_keep, frozenset({"detectors", "hash_copy"})),
    "drop": Action(None),
    "hash": Action(_hash, frozenset({"normalize"}), suffix="_hash"),
    "mask": Action(_mask),
    "generalize": Action(_generalize, frozenset({"to"})),
}
HASH_COPY_SUFFIX = ACTIONS["hash"].suffix  # ``hash_copy`` writes the same column as ``hash``


def report_action(rule: ColumnRule) -> str:
    """The action as the report counts it (``generalize:cep5``: which generalisation)."""
    return f"{rule.action}:{rule.to}" if rule.to else rule.action  # only generalize takes ``to``
