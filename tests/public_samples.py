"""Small public CSVs written by hand, read through the CSV test catalog.

The shipped catalog reads IBGE's real formats (fixed-width zip, spreadsheet); these CSVs keep
the generic CSV path (``method: table``) tested: ``CSV_CATALOG`` declares them. Fixed rows, so
the tests know every expected value and do not depend on the sample generator's randomness.
"""

from __future__ import annotations

from pathlib import Path

CSV_CATALOG = Path(__file__).with_name("public_csv_catalog.yaml")
POF_FILE = "pof_despesa_alimentar.csv"
IPM_FILE = "ipm_nm_uf.csv"
POPULATION_FILE = "populacao_municipios.csv"

POF_HEADER = "UF;ESTRATO_POF;COD_UPA;NUM_DOM;NUM_UC;CATEGORIA;V8000_DEFLA;PESO_FINAL;RENDA_TOTAL"
POF_ROWS = [
    "35;3501;350000011;1;1;Feijão;1234,56;812,3456;4500,00",
    "35;3501;350000011;1;1;Cerveja;980,10;812,3456;4500,00",
    "33;3302;330000022;2;1;Café;310,5;1020,75;2800,50",
    "29;2901;290000033;3;2;Arroz;0,99;15,5;950",
]
IPM_HEADER = (
    "Código UF;UF;Período;Moradia;Acesso aos serviços de utilidade pública;"
    "Saúde e alimentação;Educação;Acesso a serviços financeiros e padrão de vida;"
    "Transporte e lazer;IPM-NM"
)
IPM_ROWS = [
    "35;SP;2008-2009;0,052;0,031;0,044;0,060;0,071;0,055;0,039",
    "35;SP;2017-2018;0,021;0,012;0,019;0,025;0,030;0,022;0,015",
    "21;MA;2008-2009;0,301;0,280;0,215;0,190;0,260;0,170;0,212",
    "21;MA;2017-2018;0,140;0,120;0,101;0,095;0,130;0,088;0,077",
]
POPULATION_HEADER = "COD_MUNIC,NOME_MUNIC,UF,POPULACAO"
POPULATION_ROWS = [
    "3550308,São Paulo,SP,11451999",
    "3304557,Rio de Janeiro,RJ,6211223",
    "2111300,São Luís,MA,1037775",
    "5300108,Brasília,DF,2817381",
    "1100015,Alta Floresta D'Oeste,RO,21494",
]

FILES = {
    "pof_food_spending": (POF_FILE, POF_HEADER, POF_ROWS, "latin-1"),
    "ipm_nm_uf": (IPM_FILE, IPM_HEADER, IPM_ROWS, "utf-8"),
    "population_municipalities": (POPULATION_FILE, POPULATION_HEADER, POPULATION_ROWS, "utf-8"),
}


def write_csv(path: Path, header: str, rows: list[str], encoding: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(("\n".join([header, *rows]) + "\n").encode(encoding))
    return path


def write_public_release(root: Path) -> Path:
    """Write ``root/public/*.csv`` like a sample release; returns ``root``."""
    for filename, header, rows, encoding in FILES.values():
        write_csv(root / "public" / filename, header, rows, encoding)
    return root


def rewrite(root: Path, dataset: str, header: str | None = None, rows: list[str] | None = None):
    """Replace one dataset's file in a release with a changed header or rows."""
    filename, default_header, default_rows, encoding = FILES[dataset]
    return write_csv(
        root / "public" / filename,
        default_header if header is None else header,
        default_rows if rows is None else rows,
        encoding,
    )
