"""The declared personal-data policy (``policy.toml``), parsed and checked.

Fail closed: ``rule_for`` raises ``PolicyError`` for a column the policy does not declare,
so a new column in a source cannot slip into ``trusted/`` unreviewed.
"""

from __future__ import annotations

import fnmatch
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Literal

POLICY_FILE = Path(__file__).with_name("policy.toml")
ACTIONS = ("keep", "drop", "hash", "mask", "generalize")
DETECTORS = ("email", "cnpj", "cpf", "phone")
DEFAULT_TEXT_DETECTORS = ("email", "cpf", "phone")
GENERALIZATIONS = ("cep5", "month")

Action = Literal["keep", "drop", "hash", "mask", "generalize"]


class PolicyError(ValueError):
    """The policy file is malformed, or a dataset/column is not declared in it."""


@dataclass(frozen=True)
class ColumnRule:
    """What happens to one column."""

    action: Action
    reason: str
    detectors: tuple[str, ...] = DEFAULT_TEXT_DETECTORS
    normalize: str | None = None
    to: str | None = None
    hash_copy: bool = False


@dataclass(frozen=True)
class ReplaceRule:
    """Replace ``column`` by a pseudonym token on rows where ``when_column`` is in ``codes``."""

    column: str
    when_column: str
    codes: tuple[str, ...]
    label: str
    pseudonym_of: tuple[str, ...]
    reason: str


@dataclass(frozen=True)
class DatasetPolicy:
    """The rules of one dataset (or a ``public.*`` pattern with a default rule)."""

    name: str
    columns: dict[str, ColumnRule]
    replace: tuple[ReplaceRule, ...] = ()
    default: ColumnRule | None = None

    def rule_for(self, dataset: str, column: str) -> ColumnRule:
        """The column's rule; an undeclared column is an error (fail closed)."""
        if column in self.columns:
            return self.columns[column]
        if self.default is not None:
            return self.default
        raise PolicyError(
            f"column {column!r} of dataset {dataset!r} is not declared in the personal-data "
            f"policy ({POLICY_FILE.name}); declare it with an action and a reason"
        )


@dataclass(frozen=True)
class Policy:
    """All dataset policies and the policy version."""

    version: str
    datasets: dict[str, DatasetPolicy] = field(default_factory=dict)

    def for_dataset(self, dataset: str) -> DatasetPolicy:
        """The dataset's policy: an exact entry, else a matching ``source.*`` pattern."""
        if dataset in self.datasets:
            return self.datasets[dataset]
        for pattern, policy in self.datasets.items():
            if "*" in pattern and fnmatch.fnmatchcase(dataset, pattern):
                return policy
        raise PolicyError(f"dataset {dataset!r} is not declared in the personal-data policy")


def _column_rule(where: str, raw: dict) -> ColumnRule:
    unknown = set(raw) - {"action", "reason", "detectors", "normalize", "to", "hash_copy"}
    if unknown:
        raise PolicyError(f"{where}: unknown keys {sorted(unknown)}")
    action = raw.get("action")
    if action not in ACTIONS:
        raise PolicyError(f"{where}: action must be one of {ACTIONS}, got {action!r}")
    reason = str(raw.get("reason", "")).strip()
    if not reason:
        raise PolicyError(f"{where}: every column needs a one-line reason")
    detectors = tuple(raw.get("detectors", DEFAULT_TEXT_DETECTORS))
    if bad := [name for name in detectors if name not in DETECTORS]:
        raise PolicyError(f"{where}: unknown detectors {bad}; known: {DETECTORS}")
    to = raw.get("to")
    if action == "generalize" and to not in GENERALIZATIONS:
        raise PolicyError(f"{where}: generalize needs to = one of {GENERALIZATIONS}")
    normalize = raw.get("normalize")
    if normalize not in (None, "cnpj"):
        raise PolicyError(f"{where}: normalize can only be 'cnpj'")
    return ColumnRule(action, reason, detectors, normalize, to, bool(raw.get("hash_copy", False)))


def _replace_rule(where: str, raw: dict) -> ReplaceRule:
    try:
        return ReplaceRule(
            column=raw["column"],
            when_column=raw["when_column"],
            codes=tuple(str(code) for code in raw["codes"]),
            label=raw["label"],
            pseudonym_of=tuple(raw["pseudonym_of"]),
            reason=raw["reason"],
        )
    except KeyError as missing:
        raise PolicyError(f"{where}: replace rule lacks {missing}") from None


def parse_policy(document: dict) -> Policy:
    """Check and build a Policy from the parsed TOML document."""
    datasets: dict[str, DatasetPolicy] = {}
    for name, body in document.get("datasets", {}).items():
        if unknown := set(body) - {"columns", "default", "replace"}:
            raise PolicyError(f"{name}: unknown keys {sorted(unknown)} (columns go under .columns)")
        columns = {
            column: _column_rule(f"{name}.{column}", raw)
            for column, raw in body.get("columns", {}).items()
        }
        default = _column_rule(f"{name}.default", body["default"]) if "default" in body else None
        replace = tuple(
            _replace_rule(f"{name}.replace[{i}]", raw)
            for i, raw in enumerate(body.get("replace", []))
        )
        for rule in replace:
            if not rule.pseudonym_of or not rule.codes:
                raise PolicyError(f"{name}: a replace rule needs codes and pseudonym_of columns")
            for column in (rule.column, rule.when_column, *rule.pseudonym_of):
                if column not in columns:
                    raise PolicyError(f"{name}: replace rule names undeclared column {column!r}")
            if columns[rule.column].action != "keep":
                raise PolicyError(f"{name}: replace rule column {rule.column!r} must be kept")
        datasets[name] = DatasetPolicy(name, columns, replace, default)
    version = str(document.get("version", "")).strip()
    if not version:
        raise PolicyError("the policy needs a version")
    return Policy(version, datasets)


def load_policy(path: Path | None = None) -> Policy:
    """Read and check a policy file (default: the repo's ``policy.toml``)."""
    if path is None:
        return _default_policy()
    with open(path, "rb") as handle:
        return parse_policy(tomllib.load(handle))


@lru_cache(maxsize=1)
def _default_policy() -> Policy:
    with open(POLICY_FILE, "rb") as handle:
        return parse_policy(tomllib.load(handle))
