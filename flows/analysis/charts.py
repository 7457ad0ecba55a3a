"""The notebook's charts (static matplotlib figures) and the tables behind them."""

from __future__ import annotations

import numpy as np
import pandas as pd

from flows.analysis.models import MODEL_NAMES


def calibration_by_decile(observed: np.ndarray, predicted: np.ndarray) -> pd.DataFrame:
    """Mean predicted vs mean observed value per decile of the prediction."""
    frame = pd.DataFrame({"observed": observed, "predicted": predicted})
    frame["decile"] = pd.qcut(frame["predicted"].rank(method="first"), 10, labels=False) + 1
    return frame.groupby("decile", as_index=False).agg(
        rows=("observed", "size"), predicted=("predicted", "mean"), observed=("observed", "mean")
    )


def monthly_sales_by_category(monthly_sales: pd.DataFrame, top: int = 6) -> pd.DataFrame:
    """Sales value per month (rows) of the ``top`` categories (columns)."""
    by = monthly_sales.pivot_table(
        index="month", columns="category", values="sales_value", aggfunc="sum"
    ).fillna(0.0)
    return by[by.sum().sort_values(ascending=False).index[:top]]


def _figure(width: float = 8, height: float = 4):
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(width, height), layout="constrained")


def monthly_sales_chart(table: pd.DataFrame):
    figure, axes = _figure()
    table.plot(ax=axes, marker="o")
    axes.set(title="Partner sales per month, main categories", xlabel="month", ylabel="R$")
    return figure


def model_scores_chart(models: dict):
    """Cross-validated RMSE per model, with its spread across folds."""
    figure, axes = _figure(7, 3.5)
    means = [models[name]["rmse"]["mean"] for name in MODEL_NAMES]
    spreads = [models[name]["rmse"]["std"] for name in MODEL_NAMES]
    colours = ["grey", "tab:blue", "tab:green", "tab:orange", "tab:red"]
    axes.bar(MODEL_NAMES, means, yerr=spreads, color=colours, capsize=4)
    axes.set(title="Error on establishments the models never saw (lower is better)")
    axes.set_ylabel("RMSE, R$ per category-month (± sd over folds)")
    return figure


def residual_chart(observed: np.ndarray, predicted: np.ndarray):
    """Out-of-fold residual against prediction (log scale: values span 100x)."""
    figure, axes = _figure()
    axes.scatter(predicted, np.asarray(observed) - np.asarray(predicted), s=4, alpha=0.3)
    axes.axhline(0, color="black", linewidth=1)
    axes.set_xscale("log")
    axes.set(
        title="Residuals of the ensemble (out of fold)",
        xlabel="predicted R$ (log scale)",
        ylabel="observed - predicted, R$",
    )
    return figure


def calibration_chart(table: pd.DataFrame):
    figure, axes = _figure(5, 5)
    axes.plot(table["predicted"], table["observed"], marker="o", label="ensemble")
    top = float(max(table["predicted"].max(), table["observed"].max()))
    axes.plot([0, top], [0, top], linestyle="--", color="grey", label="perfect")
    axes.set(
        title="Calibration by decile of prediction",
        xlabel="mean predicted R$",
        ylabel="mean observed R$",
    )
    axes.legend()
    return figure


def importance_chart(importance: pd.DataFrame):
    """Every feature group, negative ones included (in red: shuffling them helped)."""
    figure, axes = _figure(8, max(4, 0.35 * len(importance)))
    shown = importance.iloc[::-1]
    colors = ["tab:red" if rise < 0 else "tab:blue" for rise in shown["rmse_rise"]]
    axes.barh(shown["feature"], shown["rmse_rise"], color=colors)
    axes.axvline(0, color="black", linewidth=0.8)
    axes.set(
        title="What the predictions rely on (held-out permutation importance)",
        xlabel="rise in RMSE when the information is shuffled, R$",
    )
    return figure


def potential_by_uf_chart(region: pd.DataFrame):
    """Expected revenue of the prospects vs customers' sales, per state."""
    by_uf = region.groupby("uf")[["expected_revenue", "observed_sales"]].sum()
    by_uf = by_uf.sort_values("expected_revenue", ascending=False)
    figure, axes = _figure(10, 4)
    by_uf.rename(
        columns={
            "expected_revenue": "prospects' expected revenue (P(convert) x spend)",
            "observed_sales": "customers' sales today",
        }
    ).plot.bar(ax=axes)
    axes.set(title="Monthly potential per state", xlabel="state", ylabel="R$ per month")
    return figure
