"""The declared personal-data policy (``policy.toml``), parsed and checked with pydantic.

Fail closed: ``rule_for`` raises ``PolicyError`` for a column the policy does not declare,
so a new column in a source cannot slip into ``trusted/`` unreviewed; and a malformed
policy (unknown key, action or detector, no reason, an option its action does not take) is
refused with every problem named by dataset and column. Which actions, options and
detectors exist is read from ``flows.scrub.registry``, the table the engine runs.
"""

from __future__ import annotations

import fnmatch
import tomllib
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    ValidationError,
    field_validator,
    model_validator,
)

from flows.scrub.registry import (
    ACTIONS,
    DEFAULT_TEXT_DETECTORS,
    DETECTORS,
    GENERALIZATIONS,
    NORMALIZATIONS,
)

POLICY_FILE = Path(__file__).with_name("policy.toml")


class PolicyError(ValueError):
    """The policy file is malformed, or a dataset/column is not declared in it."""


class _Strict(BaseModel):
    # An unknown key is a typo that would silently weaken the policy: refuse it.
    model_config = ConfigDict(extra="forbid", frozen=True)


class ColumnRule(_Strict):
    """What happens to one column (``action`` and its options come from the registry)."""

    # Validated even when absent, so a missing action or reason gets the message below.
    action: str = Field(default="", validate_default=True)
    reason: str = Field(default="", validate_default=True)
    detectors: tuple[str, ...] = DEFAULT_TEXT_DETECTORS
    normalize: str | None = None
    to: str | None = None
    hash_copy: StrictBool = False

    @field_validator("action")
    @classmethod
    def _known_action(cls, action: str) -> str:
        if action not in ACTIONS:
            raise ValueError(f"action must be one of {tuple(ACTIONS)}, got {action!r}")
        return action

    @field_validator("reason")
    @classmethod
    def _has_reason(cls, reason: str) -> str:
        if not reason.strip():
            raise ValueError("every column needs a one-line reason")
        return reason.strip()

    @field_validator("detectors")
    @classmethod
    def _known_detectors(cls, detectors: tuple[str, ...]) -> tuple[str, ...]:
        if bad := [name for name in detectors if name not in DETECTORS]:
            raise ValueError(f"unknown detectors {bad}; known: {tuple(DETECTORS)}")
        return detectors

    @field_validator("normalize")
    @classmethod
    def _known_normalization(cls, normalize: str | None) -> str | None:
        if normalize is not None and normalize not in NORMALIZATIONS:
            raise ValueError(f"normalize must be one of {tuple(NORMALIZATIONS)}")
        return normalize

    @model_validator(mode="after")
    def _options_fit_the_action(self) -> ColumnRule:
        action = ACTIONS[self.action]
        given = self.model_fields_set - {"action", "reason"}
        if stray := sorted(given - action.options):
            raise ValueError(
                f"{stray} do nothing with action {self.action!r}"
                f" (it takes {sorted(action.options) or 'no options'})"
            )
        if "to" in action.options and self.to not in GENERALIZATIONS:
            raise ValueError(
                f"{self.action} needs to = one of {tuple(GENERALIZATIONS)}, got {self.to!r}"
            )
        return self


class ReplaceRule(_Strict):
    """Replace ``column`` by a pseudonym token on rows where ``when_column`` is in ``codes``."""

    column: str
    when_column: str
    codes: tuple[str, ...] = Field(min_length=1)
    label: str
    pseudonym_of: tuple[str, ...] = Field(min_length=1)
    reason: str

    @field_validator("codes", mode="before")
    @classmethod
    def _codes_as_text(cls, codes: Any) -> Any:
        # Codes are compared with text columns: 2135 and "2135" mean the same code.
        return [str(code) for code in codes] if isinstance(codes, list | tuple) else codes


class DatasetPolicy(_Strict):
    """The rules of one dataset (or a ``public.*`` pattern with a default rule)."""

    name: str
    columns: dict[str, ColumnRule] = Field(default_factory=dict)
    replace: tuple[ReplaceRule, ...] = ()
    default: ColumnRule | None = None

    @model_validator(mode="after")
    def _replace_rules_name_declared_kept_columns(self) -> DatasetPolicy:
        for rule in self.replace:
            for column in (rule.column, rule.when_column, *rule.pseudonym_of):
                if column not in self.columns:
                    raise ValueError(f"replace rule names undeclared column {column!r}")
            if self.columns[rule.column].action != "keep":
                raise ValueError(f"replace rule column {rule.column!r} must be kept")
        return self

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


class Policy(_Strict):
    """All dataset policies and the policy version."""

    version: str = Field(default="", validate_default=True)
    datasets: dict[str, DatasetPolicy] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _datasets_know_their_names(cls, document: Any) -> Any:
        if isinstance(document, Mapping) and isinstance(document.get("datasets"), Mapping):
            datasets = {
                name: {**body, "name": name} if isinstance(body, Mapping) else body
                for name, body in document["datasets"].items()
            }
            return {**document, "datasets": datasets}
        return document

    @field_validator("version", mode="before")
    @classmethod
    def _version_is_set(cls, version: Any) -> str:
        if not str(version or "").strip():
            raise ValueError("the policy needs a version")
        return str(version).strip()

    def for_dataset(self, dataset: str) -> DatasetPolicy:
        """The dataset's policy: an exact entry, else a matching ``source.*`` pattern."""
        if dataset in self.datasets:
            return self.datasets[dataset]
        for pattern, policy in self.datasets.items():
            if "*" in pattern and fnmatch.fnmatchcase(dataset, pattern):
                return policy
        raise PolicyError(f"dataset {dataset!r} is not declared in the personal-data policy")


def _where(loc: tuple[int | str, ...]) -> tuple[str, tuple[int | str, ...]]:
    """``(where, rest)``: ``dataset.column``, ``dataset.default``, ``dataset.replace[i]`` or
    ``dataset`` for a location inside the policy, and what is left of the location."""
    if len(loc) < 2 or loc[0] != "datasets":
        return "policy", loc
    dataset, rest = str(loc[1]), loc[2:]
    if rest[:1] == ("columns",) and len(rest) >= 2:
        return f"{dataset}.{rest[1]}", rest[2:]
    if rest[:1] == ("default",):
        return f"{dataset}.default", rest[1:]
    if rest[:1] == ("replace",) and len(rest) >= 2:
        return f"{dataset}.replace[{rest[1]}]", rest[2:]
    return dataset, rest


def _problems(error: ValidationError) -> str:
    """One clause per problem, each naming the dataset and column it is about."""
    unknown: dict[tuple[str, bool], list[str]] = {}
    problems: list[str] = []
    for item in error.errors():
        where, rest = _where(tuple(item["loc"]))
        field = ".".join(str(part) for part in rest)
        if item["type"] == "extra_forbidden":
            # A column rule written beside .columns lands on the dataset itself.
            dataset_level = where == str(item["loc"][1]) if len(item["loc"]) > 1 else False
            unknown.setdefault((where, dataset_level), []).append(field)
        elif item["type"] == "missing":
            problems.append(f"{where}: lacks {field!r}")
        elif "error" in item.get("ctx", {}):  # our own validators: their message as written
            problems.append(f"{where}: {item['ctx']['error']}")
        else:
            problems.append(f"{where}: {field + ' ' if field else ''}{item['msg'].lower()}")
    for (where, dataset_level), keys in unknown.items():
        hint = " (columns go under .columns)" if dataset_level else ""
        problems.insert(0, f"{where}: unknown keys {sorted(keys)}{hint}")
    return "; ".join(problems)


def parse_policy(document: dict) -> Policy:
    """Check and build a Policy from the parsed TOML document; ``PolicyError`` names each
    dataset and column that is wrong and why."""
    try:
        return Policy.model_validate(document)
    except ValidationError as error:
        raise PolicyError(_problems(error)) from None


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
