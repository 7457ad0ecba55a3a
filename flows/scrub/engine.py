"""Apply the declared policy to an Arrow table, whole columns at a time.

What each action, detector and generalisation does is in ``flows.scrub.registry``; this
module runs them in order: person names replaced by pseudonyms, then the detectors over
kept text, then each column's action, counting everything in a ``ScrubReport``.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from flows.scrub.detectors import ANY_CANDIDATE
from flows.scrub.policy import DatasetPolicy, Policy, ReplaceRule, load_policy
from flows.scrub.pseudonym import hmac_hex, normalize_cnpj_column
from flows.scrub.registry import (
    ACTIONS,
    DETECTORS,
    HASH_COPY_SUFFIX,
    MASK_TOKEN,
    as_text,
    is_text,
    plain,
    report_action,
)
from flows.scrub.report import ScrubReport

__all__ = ["BATCH_ROWS", "MASK_TOKEN", "scan_text", "scrub_table"]

BATCH_ROWS = 1_000_000  # bounds memory and keeps string offsets small; columns stay vectorised


def scan_text(text: pa.Array, detectors: tuple[str, ...]) -> tuple[pa.Array, dict[str, int]]:
    """Run ``detectors`` (in the registry's order) over a string array; hits per detector."""
    counts = dict.fromkeys(detectors, 0)
    if not detectors or len(text) == 0:
        return text, counts
    # Rows with no two adjacent digits and no "@" cannot hold any identifier: skip them all.
    candidates = pc.match_substring_regex(text, ANY_CANDIDATE).fill_null(False)
    if not pc.any(candidates).as_py():
        return text, counts
    subset = text.filter(candidates)
    for name, detector in DETECTORS.items():
        if name in detectors:
            subset, counts[name] = detector.find(subset)
    return pc.replace_with_mask(text, candidates, subset), counts


def _replace_mask(rule: ReplaceRule, batch: pa.RecordBatch) -> pa.Array:
    when = as_text(plain(batch.column(rule.when_column)))
    chosen = pc.is_in(when, value_set=pa.array(rule.codes, type=when.type))
    return pc.and_(chosen, pc.is_valid(plain(batch.column(rule.column)))).fill_null(False)


def _pseudonym_tokens(
    rule: ReplaceRule, batch: pa.RecordBatch, mask: pa.Array, key: bytes
) -> pa.Array:
    """``"<label> <8 hex>"`` per masked row; the HMAC input is namespaced by the column."""
    parts: list = [pa.scalar(rule.column)]
    for name in rule.pseudonym_of:
        parts.append(as_text(plain(batch.column(name))).filter(mask).fill_null(""))
    digest = hmac_hex(pc.binary_join_element_wise(*parts, "\x1f"), key)
    return pc.binary_join_element_wise(rule.label, pc.utf8_slice_codeunits(digest, 0, 8), " ")


def _kept(
    dataset: str,
    name: str,
    column: pa.Array,
    detectors: tuple[str, ...],
    replacement: tuple[pa.Array, pa.Array] | None,
    report: ScrubReport,
) -> pa.Array:
    """A kept column: person names replaced by pseudonyms, identifiers in the rest masked."""
    if replacement is not None:  # blank the names first so no detector counts inside them
        column = pc.if_else(replacement[0], pa.scalar(None, column.type), column)
    if is_text(column.type) and detectors:
        column, hits = scan_text(column, detectors)
        for detector, count in hits.items():
            report.add(dataset, name, detector, "mask", count)
    if replacement is not None:
        mask, tokens = replacement
        column = pc.replace_with_mask(column, mask, tokens.cast(column.type))
    return column


def _scrub_batch(
    dataset: str,
    batch: pa.RecordBatch,
    policy: DatasetPolicy,
    key: bytes,
    report: ScrubReport,
) -> tuple[list[str], list[pa.Array]]:
    rules = {name: policy.rule_for(dataset, name) for name in batch.schema.names}
    replacements: dict[str, tuple[pa.Array, pa.Array]] = {}
    for replace in policy.replace:
        if replace.column in rules and replace.when_column in rules:
            mask = _replace_mask(replace, batch)
            replacements[replace.column] = (mask, _pseudonym_tokens(replace, batch, mask, key))
            replaced = pc.sum(mask).as_py() or 0
            report.add(dataset, replace.column, "person_owned", "replace", replaced)

    names: list[str] = []
    columns: list[pa.Array] = []
    for name in batch.schema.names:
        rule = rules[name]
        action = ACTIONS[rule.action]
        column = plain(batch.column(name))
        present = len(column) - column.null_count
        if rule.action == "keep":
            column = _kept(dataset, name, column, rule.detectors, replacements.get(name), report)
        else:
            report.add(dataset, name, "policy", report_action(rule), present)
        if action.apply is not None:  # None: the column is dropped
            names.append(name + action.suffix)
            columns.append(action.apply(column, rule, key))
        if rule.hash_copy:
            source = normalize_cnpj_column(as_text(plain(batch.column(name))))
            names.append(name + HASH_COPY_SUFFIX)
            columns.append(hmac_hex(source, key))
            report.add(dataset, name, "policy", "hash_copy", present)
    return names, columns


def scrub_table(
    dataset: str, table: pa.Table, key: bytes, policy: Policy | None = None
) -> tuple[pa.Table, ScrubReport]:
    """Scrub ``table`` of ``dataset`` by the declared policy; returns the clean table and counts.

    Raises ``PolicyError`` for an undeclared dataset or column (fail closed).
    """
    dataset_policy = (policy or load_policy()).for_dataset(dataset)
    for name in table.column_names:  # fail before any work, even for an empty table
        dataset_policy.rule_for(dataset, name)
    report = ScrubReport.empty()
    report.rows[dataset] += table.num_rows
    batches = table.to_batches(max_chunksize=BATCH_ROWS) or [
        pa.RecordBatch.from_arrays(
            [pa.array([], f.type) for f in table.schema], schema=table.schema
        )
    ]
    outputs = []
    for batch in batches:
        names, columns = _scrub_batch(dataset, batch, dataset_policy, key, report)
        outputs.append(pa.Table.from_arrays(columns, names=names))
    return pa.concat_tables(outputs), report
