"""Apply the declared policy to an Arrow table, whole columns at a time."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from flows.scrub.detectors import scan_text
from flows.scrub.policy import ColumnRule, DatasetPolicy, Policy, ReplaceRule, load_policy
from flows.scrub.pseudonym import hmac_hex, normalize_cnpj_column
from flows.scrub.report import ScrubReport

MASK_TOKEN = "[REMOVIDO]"
BATCH_ROWS = 1_000_000  # bounds memory and keeps string offsets small; columns stay vectorised


def _is_text(data_type: pa.DataType) -> bool:
    return pa.types.is_string(data_type) or pa.types.is_large_string(data_type)


def _plain(column: pa.Array) -> pa.Array:
    """Dictionary and string-view columns as plain strings, so every kernel accepts them."""
    if pa.types.is_dictionary(column.type):
        column = column.dictionary_decode()
    if pa.types.is_string_view(column.type):
        column = column.cast(pa.string())
    return column


def _as_text(column: pa.Array) -> pa.Array:
    return column if _is_text(column.type) else column.cast(pa.string())


def _replace_mask(rule: ReplaceRule, batch: pa.RecordBatch) -> pa.Array:
    when = _as_text(_plain(batch.column(rule.when_column)))
    chosen = pc.is_in(when, value_set=pa.array(rule.codes, type=when.type))
    return pc.and_(chosen, pc.is_valid(_plain(batch.column(rule.column)))).fill_null(False)


def _pseudonym_tokens(
    rule: ReplaceRule, batch: pa.RecordBatch, mask: pa.Array, key: bytes
) -> pa.Array:
    """``"<label> <8 hex>"`` per masked row; the HMAC input is namespaced by the column."""
    parts: list = [pa.scalar(rule.column)]
    for name in rule.pseudonym_of:
        parts.append(_as_text(_plain(batch.column(name))).filter(mask).fill_null(""))
    digest = hmac_hex(pc.binary_join_element_wise(*parts, "\x1f"), key)
    return pc.binary_join_element_wise(rule.label, pc.utf8_slice_codeunits(digest, 0, 8), " ")


def _generalize(column: pa.Array, rule: ColumnRule) -> pa.Array:
    if rule.to == "cep5":
        digits = pc.replace_substring_regex(_as_text(column), r"[^0-9]", "")
        return pc.utf8_slice_codeunits(digits, 0, 5)
    if pa.types.is_timestamp(column.type) or pa.types.is_date(column.type):
        return pc.floor_temporal(column, unit="month")
    raise TypeError(f"generalize to month needs a date or timestamp column, got {column.type}")


def _scrub_batch(
    dataset: str,
    batch: pa.RecordBatch,
    policy: DatasetPolicy,
    key: bytes,
    report: ScrubReport,
) -> tuple[list[str], list[pa.Array]]:
    rules = {name: policy.rule_for(dataset, name) for name in batch.schema.names}
    replacements: dict[str, tuple[pa.Array, pa.Array]] = {}
    for rule in policy.replace:
        if rule.column in rules and rule.when_column in rules:
            mask = _replace_mask(rule, batch)
            replacements[rule.column] = (mask, _pseudonym_tokens(rule, batch, mask, key))
            report.add(dataset, rule.column, "person_owned", "replace", pc.sum(mask).as_py() or 0)

    names: list[str] = []
    columns: list[pa.Array] = []
    for name in batch.schema.names:
        rule = rules[name]
        column = _plain(batch.column(name))
        present = len(column) - column.null_count
        if rule.action == "drop":
            report.add(dataset, name, "policy", "drop", present)
            continue
        if rule.action == "hash":
            source = _as_text(column)
            if rule.normalize == "cnpj":
                source = normalize_cnpj_column(source)
            names.append(f"{name}_hash")
            columns.append(hmac_hex(source, key))
            report.add(dataset, name, "policy", "hash", present)
            continue
        if rule.action == "mask":
            masked = pc.if_else(
                pc.is_valid(column), pa.scalar(MASK_TOKEN), pa.scalar(None, pa.string())
            )
            names.append(name)
            columns.append(masked)
            report.add(dataset, name, "policy", "mask", present)
            continue
        if rule.action == "generalize":
            names.append(name)
            columns.append(_generalize(column, rule))
            report.add(dataset, name, "policy", f"generalize:{rule.to}", present)
            continue
        # keep: replace person names first, then run the detectors over the rest
        if name in replacements:
            mask, tokens = replacements[name]
            column = pc.if_else(mask, pa.scalar(None, column.type), column)
        if _is_text(column.type) and rule.detectors:
            column, hits = scan_text(column, rule.detectors)
            for detector, count in hits.items():
                report.add(dataset, name, detector, "mask", count)
        if name in replacements:
            mask, tokens = replacements[name]
            column = pc.replace_with_mask(column, mask, tokens.cast(column.type))
        names.append(name)
        columns.append(column)
        if rule.hash_copy:
            source = normalize_cnpj_column(_as_text(_plain(batch.column(name))))
            names.append(f"{name}_hash")
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
