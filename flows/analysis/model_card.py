"""model_card.md, in the spirit of Mitchell et al. 2019 ("Model Cards for Model Reporting")."""

from __future__ import annotations

import numpy as np
import pandas as pd

from flows.analysis.features import BUSINESS_NAMES, FEATURES
from flows.analysis.models import MODEL_NAMES
from flows.analysis.validation import scores


def per_channel_scores(rows: pd.DataFrame, observed: np.ndarray, predicted: np.ndarray):
    """The ensemble's out-of-fold RMSE, MAE and R² per channel."""
    frame = pd.DataFrame({"channel": rows["channel"].to_numpy(), "y": observed, "p": predicted})
    table = [
        {"channel": channel, "rows": len(part), **scores(part["y"], part["p"])}
        for channel, part in frame.groupby("channel")
    ]
    return pd.DataFrame(table).sort_values("rows", ascending=False).reset_index(drop=True)


def _money(value: float) -> str:
    return f"{value:,.0f}"


def render(metrics: dict, by_channel: pd.DataFrame, importance: pd.DataFrame | None) -> str:
    """The card's Markdown text."""
    head = metrics["headline"]
    weights = ", ".join(f"{n} {w:.2f}" for n, w in metrics["ensemble_weights"].items())
    lines = [
        f"# Model card: partner demand ensemble (run {metrics['run_id']})",
        "",
        "## Model details",
        "- Predicts the partner's monthly sales value (R$) to an establishment in a product "
        "category, for the months it buys that category; potential = the channel's purchase "
        "rate for the category × that value.",
        "- A non-negative stack (weights learned out of fold) of LightGBM, a random forest and "
        f"a ridge regression, all fitted on log(value) and smeared back to R$. Weights: {weights}.",
        "- Compared with a naive baseline: the median of the training folds per channel × "
        "state × category.",
        "",
        *_conversion_lines(metrics),
        "## Intended use",
        "- Ranking regions, channels and non-customer establishments for a go-to-market team "
        "launching a category; comparing regions' potential with what customers buy today.",
        "- Not for: credit, pricing or any decision about a person; not a sales forecast for "
        "a given establishment (see the interval); not outside the data window below.",
        "",
        "## Data",
        f"- CNPJ release {metrics['release']}; partner sales {metrics['window']['start']} to "
        f"{metrics['window']['end']}; categories: {', '.join(metrics['categories'])}.",
        "- Rows: " + ", ".join(f"{k} {v:,}" for k, v in metrics["rows"].items()) + ".",
        "- Features: " + "; ".join(BUSINESS_NAMES[f] for f in FEATURES) + ".",
        "",
        "## Validation",
        f"- {metrics['cv']['folds']}-fold cross-validation grouped by establishment (no "
        "establishment in both parts of a fold), plus a grouped time holdout: trained on "
        "earlier months without a random 20 % of the establishments, tested on "
        f"{metrics['holdout']['month']} of those unseen establishments.",
        f"- Headline: ensemble RMSE R$ {_money(head['ensemble_rmse'])} vs baseline R$ "
        f"{_money(head['baseline_rmse'])} ({head['improvement_vs_baseline']:.0%} lower); "
        f"ensemble R² {head['ensemble_r2']:.2f}.",
        "",
        "| model | CV RMSE (mean ± sd) | CV MAE | CV R² | holdout RMSE | holdout R² |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name in MODEL_NAMES:
        cv, hold = metrics["models"][name], metrics["holdout"]["models"][name]
        lines.append(
            f"| {name} | {_money(cv['rmse']['mean'])} ± {_money(cv['rmse']['std'])} | "
            f"{_money(cv['mae']['mean'])} | {cv['r2']['mean']:.2f} ± {cv['r2']['std']:.2f} | "
            f"{_money(hold['rmse'])} | {hold['r2']:.2f} |"
        )
    lines += [
        "",
        "### Ensemble per channel (out of fold)",
        "",
        "| channel | rows | RMSE | MAE | R² |",
    ]
    lines.append("| --- | --- | --- | --- | --- |")
    for row in by_channel.itertuples():
        lines.append(
            f"| {row.channel} | {row.rows:,} | {_money(row.rmse)} | {_money(row.mae)} | "
            f"{row.r2:.2f} |"
        )
    lines += _holdout_lines(metrics)
    if importance is not None and len(importance):
        lines += [
            "",
            "### What drives the predictions (permutation importance, held out; every group, "
            "a negative rise means shuffling the group made the predictions better)",
            "",
        ]
        for row in importance.itertuples():
            lines.append(f"- {row.feature}: RMSE {row.rmse_rise:+,.0f}")
    lines += [
        "",
        "## Known limits",
        "- How often an establishment buys a category is the channel's average (customers "
        "only); the model explains the size of a purchase, not its frequency.",
        "- The interval (80 %, from out-of-fold residuals) is per establishment; the regional "
        "low/high are sums of those bounds: a conservative band, not an interval of the sum.",
        "- Customers are establishments that chose the partner: prospects may differ in ways the "
        "registry does not show; a prospect's potential assumes it buys like similar customers.",
        "- The time holdout month may be a month of the year the training never saw (seasons "
        "are then extrapolated from neighbouring months).",
        "- On generated sample data the scores measure recovery of the planted signal "
        "(docs/sample-data.md), not real-world accuracy.",
        "",
        "## Ethical considerations",
        "- Inputs come from the scrubbed warehouse (no names, CPFs, e-mails or phones of "
        "people). Trade names of individual entrepreneurs and MEIs are left out of the "
        "prospect list because they can be the owner's name.",
        "",
    ]
    return "\n".join(lines)


def _conversion_lines(metrics: dict) -> list[str]:
    """Conversion model, expected revenue, the hidden-customer check and the interval."""
    conv, interval = metrics["conversion"], metrics["interval"]
    top10 = next((g for g in conv["gains"] if g["share_called"] == 0.1), None)
    silent = metrics.get("members_without_weight") or []
    thin = metrics.get("thin_categories") or {}
    lines = [
        "- Conversion (look-alike): a LightGBM classifier of customers against active "
        "non-customers of the channels, cross-fitted on 5 folds; features from the registry, "
        "IBGE and the share of customers in the establishment's city, neighbourhood and "
        "state computed from the other folds only (never the row's own label).",
        "- Expected revenue = P(convert) × expected monthly spend as a customer (purchase "
        "rate × value per category, months without a purchase count); the ranking.",
        "",
        "## Does the ranking find real customers?",
        f"- {conv['hidden_customers']:,} customers ({conv['hidden_share']:.0%}) were hidden "
        "from every model and scored among "
        f"{conv['candidates']:,} candidates: top-decile lift {conv['top_decile_lift']:.2f}, "
        f"AUC {conv['auc']:.3f} (ranking by P(convert)); by expected revenue: lift "
        f"{conv['expected_revenue_top_decile_lift']:.2f}.",
    ]
    if top10:
        lines.append(
            f"- Calling the top 10 % of prospects (by expected revenue) reaches "
            f"{top10['customers_reached']:.0%} of the hidden customers and "
            f"{top10['revenue_reached']:.0%} of their revenue."
        )
    if interval.get("coverage") is not None:
        miss = interval["coverage"] - interval["nominal"]
        verdict = (
            "within 5 points"
            if abs(miss) <= 0.05
            else f"MISSES its nominal level by {abs(miss) * 100:.0f} points"
        )
        lines.append(
            f"- The {interval['nominal']:.0%} interval of an establishment's expected monthly "
            f"revenue covers {interval['coverage']:.0%} of held-out customers ({verdict}; "
            f"{interval['basis']}); typical error R$ "
            f"{interval['typical_error_brl_month']:,.0f}/month."
        )
    for name in silent:
        lines.append(
            f"- The {name} member earned no weight on any fold: it is kept for comparison "
            "but contributes nothing to the predictions."
        )
    for name, rows in thin.items():
        lines.append(
            f"- {name}: only {rows:,} training rows (< 500): scored by the baseline (median "
            "per channel × state × category), no model headline is claimed for it."
        )
    lines.append("")
    return lines


def _holdout_lines(metrics: dict) -> list[str]:
    """Known customers next month, reported under their own name."""
    known = metrics["holdout"].get("known_customers_next_month")
    if not known:
        return []
    lines = [
        "",
        f"### Known customers next month ({metrics['holdout']['month']}; establishments the "
        "models trained on, NOT a measure of prospects)",
        "",
        "| model | RMSE | R² |",
        "| --- | --- | --- |",
    ]
    for name in MODEL_NAMES:
        score = known["models"][name]
        lines.append(f"| {name} | {_money(score['rmse'])} | {score['r2']:.2f} |")
    return lines
