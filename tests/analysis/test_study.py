"""The notebook's steps end to end on a small frame: what happens at the edges."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest

from flows.analysis import outputs, study
from flows.analysis.models import ModelSizes
from tests.analysis.small_data import warehouse_data

SMALL = ModelSizes(lightgbm_trees=20, forest_trees=5, forest_depth=4, conversion_trees=20)


def test_a_release_with_no_prospects_fails_with_a_clear_message(tmp_path):
    # Every establishment already buys from the partner: nothing is left to score.
    prepared = study.prepare(warehouse_data(customer_share=1.0), None, 10_000, seed=1)
    cv, _, _ = study.validate(prepared, folds=3, sizes=SMALL, seed=1, progress=lambda *_: None)
    conv = study.convert(prepared, SMALL, seed=1, progress=lambda *_: None)
    with pytest.raises(ValueError, match="nothing to score: every active establishment"):
        study.score(prepared, cv, conv, SMALL, 1, str(tmp_path), "r", progress=lambda *_: None)


def test_prospects_are_scored_when_some_establishments_are_not_customers(tmp_path):
    prepared = study.prepare(warehouse_data(customer_share=0.5), None, 10_000, seed=1)
    cv, _, _ = study.validate(prepared, folds=3, sizes=SMALL, seed=1, progress=lambda *_: None)
    conv = study.convert(prepared, SMALL, seed=1, progress=lambda *_: None)
    scored = study.score(prepared, cv, conv, SMALL, 1, str(tmp_path), "r", progress=print)
    ranked = pq.read_table(tmp_path / outputs.PROSPECTS_FILE).to_pandas()
    assert scored.prospects == len(ranked) > 0
    assert not set(ranked["cnpj_hash"]) & set(prepared.data.customers)


def test_hidden_customers_are_hidden_from_the_spend_model_and_the_rates():
    prepared = study.prepare(warehouse_data(customer_share=0.5), None, 10_000, seed=1)
    customers = prepared.data.customers & set(prepared.features["cnpj_hash"])
    assert len(prepared.hidden) == round(0.2 * len(customers))
    assert not set(prepared.rows["cnpj_hash"]) & prepared.hidden
    assert prepared.visible.sum() == len(customers) - len(prepared.hidden)
