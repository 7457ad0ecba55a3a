"""Plant known personal data in a generated CNPJ release, and collect every personal value
its raw files hold, so a test can prove none of it reaches the analysis's record.

The canary is an active bar run by a MEI (natureza 2135) that is not a partner customer,
so it is scored as a prospect: its trade name carries the owner's name and CPF, and its
e-mail and phone are the owner's.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from pathlib import Path

CANARY_NAME = "JOANA CANARIO"
CANARY_CPF = "52998224725"  # valid check digits
CANARY_EMAIL = "joana.canario.1987@gmail.com"
CANARY_PHONE = "987654321"
CANARY = (CANARY_NAME, CANARY_CPF, CANARY_EMAIL, CANARY_PHONE)
CHANNEL_CNAES = {"5611201", "5611203", "5611204", "5611205", "5620102", "4711301", "4711302",
                 "4712100", "4691500", "4637107"}  # fmt: skip


def _read(path: Path) -> tuple[str, list[bytes]]:
    with zipfile.ZipFile(path) as archive:
        inner = archive.namelist()[0]
        return inner, archive.read(inner).split(b"\n")


def _write(path: Path, inner: str, lines: list[bytes]) -> None:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(inner, b"\n".join(lines))


def _fields(line: bytes) -> list[str]:
    return next(csv.reader(io.StringIO(line.decode("latin-1")), delimiter=";"))


def _line(fields: list[str]) -> bytes:
    return ";".join(f'"{field}"' for field in fields).encode("latin-1")


def plant(sample: Path) -> str:
    """Rewrite one MEI bar's rows; returns its CNPJ."""
    cnpj_dir = sample / "cnpj"
    listing = json.loads((sample / "partner" / "establishments.json").read_text())
    customers = {row["cnpj"] for row in listing}
    empresas_inner, empresas = _read(cnpj_dir / "Empresas0.zip")
    mei = {}
    for number, line in enumerate(empresas):
        if line and b'"2135"' in line:
            mei[_fields(line)[0]] = number
    inner, establishments = _read(cnpj_dir / "Estabelecimentos0.zip")
    for number, line in enumerate(establishments):
        if not line:
            continue
        fields = _fields(line)
        cnpj = "".join(fields[:3])
        if (
            len(fields) == 30
            and fields[0] in mei
            and fields[5] == "02"
            and fields[11] in {"5611204", "5611201"}
            and fields[19] not in ("EX", "")
            and cnpj not in customers
            and fields[10].isdigit()
        ):
            fields[4] = f"BAR {CANARY_NAME} {CANARY_CPF}"
            fields[21], fields[22] = "11", CANARY_PHONE
            fields[27] = CANARY_EMAIL
            establishments[number] = _line(fields)
            company = _fields(empresas[mei[fields[0]]])
            company[1] = f"{CANARY_NAME} DE SOUZA {CANARY_CPF}"
            empresas[mei[fields[0]]] = _line(company)
            _write(cnpj_dir / "Estabelecimentos0.zip", inner, establishments)
            _write(cnpj_dir / "Empresas0.zip", empresas_inner, empresas)
            return cnpj
    raise AssertionError("no active MEI bar or restaurant to plant the canary in")


def personal_values(sample: Path) -> set[str]:
    """Every e-mail, phone, CPF in a company name, MEI owner's name and partner's name of
    the raw CNPJ files (long enough not to match by chance)."""
    values: set[str] = set()
    cnpj_dir = sample / "cnpj"
    for path in cnpj_dir.glob("Estabelecimentos*.zip"):
        for line in _read(path)[1]:
            if line:
                fields = _fields(line)
                if len(fields) == 30:
                    values.update(v for v in (fields[27],) if "@" in v)
                    values.update(fields[21] + fields[22] for _ in [0] if len(fields[22]) >= 8)
    for path in cnpj_dir.glob("Empresas*.zip"):
        for line in _read(path)[1]:
            if line:
                fields = _fields(line)
                if len(fields) == 7 and fields[2] == "2135":
                    values.update(re.findall(r"(?<!\d)\d{11}(?!\d)", fields[1]))
                    name = re.sub(r"[\d./-]+", " ", fields[1]).strip()
                    if len(name) >= 12:
                        values.add(" ".join(name.split()))
    for path in cnpj_dir.glob("Socios*.zip"):
        for line in _read(path)[1]:
            if line:
                fields = _fields(line)
                if len(fields) == 11 and fields[1] == "2" and len(fields[2]) >= 12:
                    values.add(fields[2])
    return values | set(CANARY)
