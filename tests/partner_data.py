"""A tiny partner release (the three JSON files of the contract) for the partner API tests."""

from __future__ import annotations

import json
from pathlib import Path

from flows.identifiers import make_cnpj

DAYS = ("2026-03-14", "2026-03-15", "2026-03-16")
CATEGORIES = [
    {"id": 1, "name": "Cerveja", "isActive": True},
    {"id": 2, "name": "Vinho", "isActive": True},
    {"id": 3, "name": "Feijão", "isActive": False},
]
CNPJS = [make_cnpj(f"{11222333 + step:08d}", "0001") for step in range(4)]
ESTABLISHMENTS = [{"id": number + 1, "cnpj": cnpj} for number, cnpj in enumerate(CNPJS)]


def sales() -> list[dict]:
    """Twelve sales per day over three days, cycling through the CNPJs and categories."""
    rows = []
    for day_number, day in enumerate(DAYS):
        for step in range(12):
            sale_id = day_number * 100 + step + 1
            category = CATEGORIES[step % 3]
            rows.append(
                {
                    "id": sale_id,
                    "cnpj": CNPJS[(step + day_number) % 4],
                    "idCategory": category["id"],
                    "category": dict(category),
                    "saleDate": f"{day}T{8 + step:02d}:21:03.207",
                    "value": round(10.5 * (step + 1), 2),
                    "amount": step + 1,
                }
            )
    return rows


def write_partner_release(folder: Path, sale_rows: list[dict] | None = None) -> Path:
    """Write ``folder/partner/{categories,establishments,sales}.json``; returns ``folder``."""
    partner = folder / "partner"
    partner.mkdir(parents=True, exist_ok=True)
    (partner / "categories.json").write_text(json.dumps(CATEGORIES, ensure_ascii=False))
    (partner / "establishments.json").write_text(json.dumps(ESTABLISHMENTS))
    rows = sales() if sale_rows is None else sale_rows
    (partner / "sales.json").write_text(json.dumps(rows, ensure_ascii=False))
    return folder
