"""The official column layouts of the Receita Federal CNPJ open-data files.

Every file is one headerless CSV in a zip: ``;``-separated, every field double-quoted,
Latin-1, dates ``YYYYMMDD`` (``0``/``00000000`` = none), money with a decimal comma.
Each column has a kind that says how the parser types it: text, a zero-padded code of
a fixed width, a date, or a decimal. CNPJ parts are codes (text, alphanumeric-ready).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

import pyarrow as pa


class Kind(StrEnum):
    """How a column is typed."""

    TEXT = "text"
    CODE = "code"  # zero-padded text of a fixed width
    DATE = "date"
    DECIMAL = "decimal"


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind = Kind.TEXT
    width: int = 0  # for codes: the zero-padded width

    @property
    def arrow_type(self) -> pa.DataType:
        return {
            Kind.TEXT: pa.string(),
            Kind.CODE: pa.string(),
            Kind.DATE: pa.date32(),
            Kind.DECIMAL: DECIMAL_TYPE,
        }[self.kind]


@dataclass(frozen=True)
class Layout:
    """One file family: ``Estabelecimentos0..9.zip`` -> table ``estabelecimentos``."""

    table: str
    stem: str  # file name without the part number and .zip
    columns: tuple[Column, ...]
    numbered: bool  # Empresas0..9.zip vs Simples.zip
    dataset: str  # scrub policy dataset name

    @property
    def names(self) -> list[str]:
        return [column.name for column in self.columns]

    def schema(self) -> pa.Schema:
        """The typed schema the parser produces (before derived columns)."""
        return pa.schema([(column.name, column.arrow_type) for column in self.columns])


DECIMAL_TYPE = pa.decimal128(18, 2)
T, C, D = Kind.TEXT, Kind.CODE, Kind.DATE


def _cols(*specs: tuple) -> tuple[Column, ...]:
    return tuple(Column(*spec) for spec in specs)


EMPRESAS = Layout(
    "empresas",
    "Empresas",
    _cols(
        ("cnpj_basico", C, 8),
        ("razao_social",),
        ("natureza_juridica", C, 4),
        ("qualificacao_responsavel", C, 2),
        ("capital_social", Kind.DECIMAL),
        ("porte", C, 2),
        ("ente_federativo_responsavel",),
    ),
    numbered=True,
    dataset="cnpj.empresas",
)

ESTABELECIMENTOS = Layout(
    "estabelecimentos",
    "Estabelecimentos",
    _cols(
        ("cnpj_basico", C, 8),
        ("cnpj_ordem", C, 4),
        ("cnpj_dv", C, 2),
        ("identificador_matriz_filial", C, 1),
        ("nome_fantasia",),
        ("situacao_cadastral", C, 2),
        ("data_situacao_cadastral", D),
        ("motivo_situacao_cadastral", C, 2),
        ("nome_cidade_exterior",),
        ("pais", C, 3),
        ("data_inicio_atividade", D),
        ("cnae_fiscal_principal", C, 7),
        ("cnae_fiscal_secundaria",),  # comma-separated list of 7-digit codes
        ("tipo_logradouro",),
        ("logradouro",),
        ("numero",),
        ("complemento",),
        ("bairro",),
        ("cep", C, 8),
        ("uf",),
        ("municipio", C, 4),  # Receita TOM code, not IBGE
        ("ddd_1",),
        ("telefone_1",),
        ("ddd_2",),
        ("telefone_2",),
        ("ddd_fax",),
        ("fax",),
        ("correio_eletronico",),
        ("situacao_especial",),
        ("data_situacao_especial", D),
    ),
    numbered=True,
    dataset="cnpj.estabelecimentos",
)

SOCIOS = Layout(
    "socios",
    "Socios",
    _cols(
        ("cnpj_basico", C, 8),
        ("identificador_socio", C, 1),
        ("nome_socio",),
        ("cnpj_cpf_socio",),  # CPF masked as ***123456**, or a 14-character CNPJ
        ("qualificacao_socio", C, 2),
        ("data_entrada_sociedade", D),
        ("pais", C, 3),
        ("representante_legal",),
        ("nome_representante",),
        ("qualificacao_representante", C, 2),
        ("faixa_etaria", C, 1),
    ),
    numbered=True,
    dataset="cnpj.socios",
)

SIMPLES = Layout(
    "simples",
    "Simples",
    _cols(
        ("cnpj_basico", C, 8),
        ("opcao_simples",),
        ("data_opcao_simples", D),
        ("data_exclusao_simples", D),
        ("opcao_mei",),
        ("data_opcao_mei", D),
        ("data_exclusao_mei", D),
    ),
    numbered=False,
    dataset="cnpj.simples",
)


def _domain(table: str, stem: str, width: int) -> Layout:
    columns = _cols(("codigo", C, width), ("descricao",))
    return Layout(table, stem, columns, numbered=False, dataset="cnpj.domain")


DOMAINS = (
    _domain("cnaes", "Cnaes", 7),
    _domain("municipios", "Municipios", 4),
    _domain("naturezas", "Naturezas", 4),
    _domain("qualificacoes", "Qualificacoes", 2),
    _domain("paises", "Paises", 3),
    _domain("motivos", "Motivos", 2),
)
LAYOUTS: tuple[Layout, ...] = (EMPRESAS, ESTABELECIMENTOS, SOCIOS, SIMPLES, *DOMAINS)
LAYOUT_BY_TABLE = {layout.table: layout for layout in LAYOUTS}
NUMBERED_PARTS = range(10)  # a release has Empresas0..9, Estabelecimentos0..9, Socios0..9

_FILE_NAME = re.compile(r"(?P<stem>[A-Za-z]+?)(?P<part>\d*)\.zip")


@dataclass(frozen=True)
class ReleaseFile:
    """One zip of a release, e.g. ``Estabelecimentos3.zip`` (part 3 of estabelecimentos)."""

    name: str
    layout: Layout
    part: int  # 0 for unnumbered files

    @property
    def table(self) -> str:
        return self.layout.table


def classify(name: str) -> ReleaseFile | None:
    """The layout of a release file name, or None for a file that is not a CNPJ table."""
    match = _FILE_NAME.fullmatch(name)
    if not match:
        return None
    for layout in LAYOUTS:
        if match["stem"].lower() != layout.stem.lower():
            continue
        if layout.numbered != bool(match["part"]):
            return None
        return ReleaseFile(name=name, layout=layout, part=int(match["part"] or 0))
    return None


def expected_file_names() -> list[str]:
    """The 37 zip names of a complete release, in the Receita's spelling."""
    names = []
    for layout in LAYOUTS:
        if layout.numbered:
            names += [f"{layout.stem}{part}.zip" for part in NUMBERED_PARTS]
        else:
            names.append(f"{layout.stem}.zip")
    return names
