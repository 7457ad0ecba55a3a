"""The acquisition process: the oracle's figures reproduced from the ground-truth file."""

from __future__ import annotations

import json

import numpy as np
import pyarrow.parquet as pq
import pytest
from sklearn.metrics import roc_auc_score

from flows.sample import generate_release


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    folder = tmp_path_factory.mktemp("release")
    generate_release(folder, establishments=40_000, seed=29, progress=False)
    return folder


def test_the_oracle_figures_are_reproduced_from_the_ground_truth(release):
    manifest = json.loads((release / "MANIFEST.json").read_text())
    oracle = manifest["acquisition"]["oracle"]
    truth = pq.read_table(release / "ground_truth" / "propensity.parquet").to_pandas()
    assert truth["cnpj"].is_unique and oracle["candidates"] == len(truth)
    positive = truth["customer"].to_numpy()
    auc = roc_auc_score(positive, truth["propensity"])
    top = truth.sort_values("propensity", ascending=False).head(round(len(truth) * 0.1))
    lift = top["customer"].mean() / positive.mean()
    assert oracle["auc"] == pytest.approx(auc, abs=1e-9)
    assert oracle["top_decile_lift"] == pytest.approx(lift, rel=0.02)  # ties at the cut
    assert 4 <= lift <= 6 and 0.80 <= auc <= 0.92  # realistic, not a giveaway


def test_the_partners_customers_are_the_ground_truths_customers(release):
    truth = pq.read_table(release / "ground_truth" / "propensity.parquet").to_pandas()
    listing = json.loads((release / "partner" / "establishments.json").read_text())
    assert {row["cnpj"] for row in listing} == set(truth.loc[truth["customer"], "cnpj"])
    # Customers are not uniform: their mean propensity is well above everyone's.
    assert truth.loc[truth["customer"], "propensity"].mean() > 2 * truth["propensity"].mean()
    assert np.isclose(truth["propensity"].mean(), truth["customer"].mean(), rtol=0.1)
