"""The notebook's charts and the tables behind them.

Each chart is a matplotlib figure shown as **inline SVG with a text alternative**
(``role="img"``, ``aria-label`` and ``<title>``: a screen reader, a search and a reviewer
without the picture all get what it shows), labelled in Portuguese with Brazilian
numbers (``R$ 120 mil``, not ``120000``). A chart function shows its figure, closes it
(so the inline backend does not show a PNG copy) and returns it.
"""

from __future__ import annotations

import io
import re
from html import escape
from typing import Any

import numpy as np
import pandas as pd

from flows.analysis.model_card import model_label
from flows.analysis.models import MODEL_NAMES
from flows.reports.formatting import compacto, inteiro


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


def _money_axis(axis) -> None:
    """``R$ 120 mil`` on an axis instead of ``120000``."""
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    axis.set_major_locator(MaxNLocator(5))  # R$ labels are wide: a few, never overlapping
    axis.set_major_formatter(FuncFormatter(lambda value, _: compacto(value, moeda=True)))


def svg_with_alt(figure, alt: str) -> str:
    """The figure as SVG text carrying ``alt`` as its accessible name and title."""
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg")
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg") :]  # no XML prolog or DOCTYPE inside an HTML page
    label = escape(alt, quote=True)
    return re.sub(
        r"<svg\b([^>]*)>",
        rf'<svg\1 role="img" aria-label="{label}"><title>{label}</title>',
        svg,
        count=1,
    )


def show(figure, alt: str):
    """Display the figure as inline SVG with ``alt``, close it and return it."""
    import matplotlib.pyplot as plt
    from IPython.display import SVG, display

    display(SVG(data=svg_with_alt(figure, alt)))
    plt.close(figure)
    return figure


def monthly_sales_chart(table: pd.DataFrame):
    figure, axes = _figure()
    table.plot(ax=axes, marker="o")
    axes.set(title="Vendas do parceiro por mês, principais categorias", xlabel="mês")
    axes.set_ylabel("R$ por mês")
    _money_axis(axes.yaxis)
    axes.legend(title="categoria")
    alt = (
        f"Linhas das vendas mensais (R$) de {', '.join(map(str, table.columns))}, "
        f"de {_month(table.index.min())} a {_month(table.index.max())}."
    )
    return show(figure, alt)


def _month(value) -> str:
    return pd.Timestamp(value).strftime("%m/%Y") if value is not None else "?"


def model_scores_chart(models: dict):
    """Cross-validated RMSE per model, with its spread across folds."""
    figure, axes = _figure(7, 3.5)
    means = [models[name]["rmse"]["mean"] for name in MODEL_NAMES]
    spreads = [models[name]["rmse"]["std"] for name in MODEL_NAMES]
    colours = ["grey", "tab:blue", "tab:green", "tab:orange", "tab:red"]
    names = [model_label(name).replace(" (", "\n(") for name in MODEL_NAMES]
    axes.bar(names, means, yerr=spreads, color=colours, capsize=4)
    axes.tick_params(axis="x", labelsize=8)
    axes.set(title="Erro em estabelecimentos que os modelos não viram (menor é melhor)")
    axes.set_ylabel("RMSE, R$ por categoria-mês (± dp entre folds)")
    _money_axis(axes.yaxis)
    alt = "Barras do RMSE de validação cruzada por modelo: " + "; ".join(
        f"{model_label(name)} {compacto(mean, moeda=True)}"
        for name, mean in zip(MODEL_NAMES, means, strict=True)
    )
    return show(figure, alt + ".")


def residual_chart(observed: np.ndarray, predicted: np.ndarray):
    """Out-of-fold residual against prediction (log scale: values span 100x)."""
    figure, axes = _figure()
    residuals = np.asarray(observed) - np.asarray(predicted)
    # thousands of points: drawn as one embedded image inside the SVG, not one path each
    axes.scatter(predicted, residuals, s=4, alpha=0.3, rasterized=True)
    axes.axhline(0, color="black", linewidth=1)
    axes.set_xscale("log")
    axes.set(
        title="Resíduos do ensemble (fora da amostra de treino)",
        xlabel="previsto, R$ (escala log)",
        ylabel="observado − previsto, R$",
    )
    _money_axis(axes.yaxis)
    alt = (
        f"Dispersão de {inteiro(len(residuals))} resíduos contra o valor previsto; mediana "
        f"do erro absoluto {compacto(float(np.median(np.abs(residuals))), moeda=True)}."
    )
    return show(figure, alt)


def calibration_chart(table: pd.DataFrame):
    figure, axes = _figure(5, 5)
    axes.plot(table["predicted"], table["observed"], marker="o", label="ensemble")
    top = float(max(table["predicted"].max(), table["observed"].max()))
    axes.plot([0, top], [0, top], linestyle="--", color="grey", label="perfeito")
    axes.set(
        title="Calibração por decil da previsão",
        xlabel="média prevista, R$",
        ylabel="média observada, R$",
    )
    _money_axis(axes.xaxis)
    _money_axis(axes.yaxis)
    axes.legend()
    alt = "Média observada contra média prevista em cada decil da previsão: " + "; ".join(
        f"{compacto(p, moeda=True)} previsto, {compacto(o, moeda=True)} observado"
        for p, o in zip(table["predicted"], table["observed"], strict=True)
    )
    return show(figure, alt + ".")


def importance_chart(importance: pd.DataFrame):
    """Every feature group, negative ones included (in red: shuffling them helped)."""
    figure, axes = _figure(8, max(4, 0.35 * len(importance)))
    shown = importance.iloc[::-1]
    colors = ["tab:red" if rise < 0 else "tab:blue" for rise in shown["rmse_rise"]]
    axes.barh(shown["feature"], shown["rmse_rise"], color=colors)
    axes.axvline(0, color="black", linewidth=0.8)
    axes.set(
        title="Em que as previsões se apoiam",
        xlabel="aumento do RMSE ao embaralhar a informação, R$",
    )
    _money_axis(axes.xaxis)
    alt = "Informações que mais pesam nas previsões, da mais importante: " + ", ".join(
        map(str, importance.head(10)["feature"])
    )
    return show(figure, alt + ".")


def potential_by_uf_chart(region: pd.DataFrame):
    """Expected revenue of the prospects (or, in older outputs, their predicted potential)
    vs customers' sales, per state."""
    value = "expected_revenue" if "expected_revenue" in region else "predicted_value"
    by_uf = region.groupby("uf")[[value, "observed_sales"]].sum()
    by_uf = by_uf.sort_values(value, ascending=False)
    figure, axes = _figure(10, 4)
    by_uf.rename(
        columns={
            value: "receita esperada dos prospects (P(virar cliente) × compra)",
            "observed_sales": "vendas atuais aos clientes",
        }
    ).plot.bar(ax=axes)
    axes.set(title="Receita mensal por UF", xlabel="UF", ylabel="R$ por mês")
    _money_axis(axes.yaxis)
    alt = "Barras por UF da receita esperada dos prospects e das vendas atuais; maiores: " + (
        ", ".join(by_uf.index[:5].astype(str))
    )
    return show(figure, alt + ".")


def table(
    frame: pd.DataFrame,
    labels: dict[str, str],
    money: tuple[str, ...] = (),
    percent: tuple[str, ...] = (),
    numbered: bool = False,
):
    """A reviewer's table: only ``labels``' columns, renamed; no row index; channel codes as
    business labels; money as ``R$ 1.234``; shares as ``12,5%``; other numbers Brazilian;
    missing as ``—``. ``numbered``: a first ``Nº`` column numbers the rows 1..N in the
    frame's order (a ranked table)."""
    from IPython.display import HTML

    from flows.reports.formatting import MISSING, brl, numero, percentual
    from flows.reports.marketing import table as html_table
    from flows.reports.prospects import channel_pt

    def shown(column: str, value: Any) -> str:
        if value is None or (isinstance(value, float) and np.isnan(value)):
            return MISSING
        if column == "channel":
            return channel_pt(str(value))
        if column in money:
            return brl(float(value), 0)
        if column in percent:
            return percentual(float(value), 1)
        if isinstance(value, float | np.floating):
            return numero(float(value), 2)
        if isinstance(value, int | np.integer):
            return numero(int(value))
        return str(value)

    out = pd.DataFrame(
        {label: [shown(column, v) for v in frame[column]] for column, label in labels.items()}
    )
    if numbered:
        out.insert(0, "Nº", [numero(n) for n in range(1, len(out) + 1)])
    return HTML(html_table(out, ranked=numbered))
