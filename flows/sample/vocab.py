"""Vocabularies of the sample release: Portuguese names, addresses, domain tables, states.

Everything here is either real public reference data (CNAE, natureza juridica and
qualificacao codes, country codes, state capitals) or invented-but-plausible text
(names, streets, income levels) in the spirit of the real sources. Text is Latin-1.
"""

from __future__ import annotations

FIRST_NAMES = (
    "JOSÉ", "JOÃO", "ANTÔNIO", "FRANCISCO", "CARLOS", "PAULO", "PEDRO", "LUCAS", "LUÍS",
    "MARCOS", "GABRIEL", "RAFAEL", "DANIEL", "MARCELO", "BRUNO", "EDUARDO", "FELIPE",
    "RODRIGO", "MANOEL", "SEBASTIÃO", "FÁBIO", "MÁRCIO", "VINÍCIUS", "CAUÃ", "ANDRÉ",
    "MARIA", "ANA", "FRANCISCA", "ANTÔNIA", "ADRIANA", "JULIANA", "MÁRCIA", "FERNANDA",
    "PATRÍCIA", "ALINE", "SANDRA", "CAMILA", "AMANDA", "BRUNA", "JÉSSICA", "LETÍCIA",
    "JÚLIA", "LUCIANA", "VANESSA", "CECÍLIA", "INÊS", "DÉBORA", "CONCEIÇÃO", "LÚCIA",
    "GLÓRIA", "RITA", "SÔNIA", "VÂNIA", "TEREZINHA", "ROSÂNGELA", "ÂNGELA", "FLÁVIA",
)  # fmt: skip
SURNAMES = (
    "DA SILVA", "DOS SANTOS", "DE OLIVEIRA", "DE SOUZA", "RODRIGUES", "FERREIRA", "ALVES",
    "PEREIRA", "LIMA", "GOMES", "COSTA", "RIBEIRO", "MARTINS", "CARVALHO", "DE ALMEIDA",
    "LOPES", "SOARES", "FERNANDES", "VIEIRA", "BARBOSA", "ROCHA", "DIAS", "NASCIMENTO",
    "ANDRADE", "MOREIRA", "NUNES", "MARQUES", "MACHADO", "MENDES", "FREITAS", "CARDOSO",
    "RAMOS", "GONÇALVES", "SANTANA", "TEIXEIRA", "DE ARAÚJO", "DA CONCEIÇÃO", "SIMÕES",
    "MAGALHÃES", "BRANDÃO", "FALCÃO", "LEÃO", "GUIMARÃES", "PEÇANHA", "DE JESUS", "ASSUNÇÃO",
    "ROMÃO", "DA PAIXÃO", "ESTEVÃO", "BENÍCIO", "CAVALCÂNTI", "DE MELO", "QUINTÃO",
)  # fmt: skip
EMAIL_DOMAINS = ("gmail.com", "hotmail.com", "yahoo.com.br", "outlook.com", "bol.com.br")

STREET_TYPES = ("RUA", "AVENIDA", "TRAVESSA", "ALAMEDA", "PRAÇA", "ESTRADA", "RODOVIA")
STREET_TYPE_WEIGHTS = (0.62, 0.2, 0.06, 0.04, 0.03, 0.03, 0.02)
STREETS = (
    "DAS FLORES", "SÃO JOÃO", "BARÃO DE MAUÁ", "GETÚLIO VARGAS", "MARECHAL DEODORO",
    "DOM PEDRO II", "JOSÉ BONIFÁCIO", "TIRADENTES", "SETE DE SETEMBRO", "QUINZE DE NOVEMBRO",
    "RUI BARBOSA", "SANTOS DUMONT", "PRESIDENTE KENNEDY", "DAS PALMEIRAS", "DO COMÉRCIO",
    "CASTRO ALVES", "MACHADO DE ASSIS", "VISCONDE DE MAUÁ", "DUQUE DE CAXIAS", "DA LIBERDADE",
    "CEARÁ", "PARANÁ", "AMAZONAS", "GOIÁS", "MARANHÃO", "PIAUÍ", "SÃO PAULO", "BRASÍLIA",
    "JOÃO PESSOA", "PEDRO ÁLVARES CABRAL", "ANCHIETA", "PADRE ANCHIETA", "CONSELHEIRO LAFAIETE",
    "CORONEL ANTÔNIO PRADO", "DOUTOR JOSÉ DE ALENCAR", "SÃO BENEDITO", "NOSSA SENHORA APARECIDA",
)  # fmt: skip
NEIGHBOURHOODS = (
    "CENTRO", "JARDIM AMÉRICA", "VILA NOVA", "SÃO JOSÉ", "BELA VISTA", "SANTA CECÍLIA",
    "BOA VIAGEM", "CONSOLAÇÃO", "JARDIM PAULISTA", "SANTO ANTÔNIO", "SÃO FRANCISCO",
    "JARDIM EUROPA", "VILA MARIANA", "PLANALTO", "ALTO DA BOA VISTA", "CIDADE NOVA",
    "JARDIM SÃO PAULO", "NOSSA SENHORA DAS GRAÇAS", "SÃO CRISTÓVÃO", "INDUSTRIAL",
    "PARQUE SÃO JORGE", "JARDIM IPÊ", "VILA ESPERANÇA", "LAGOA", "COPACABANA", "BOQUEIRÃO",
    "BAIRRO DOS ESTADOS", "JARDIM BOTÂNICO", "CRISTO REI", "SÃO BRÁS",
)  # fmt: skip
COMPLEMENTS = ("", "", "", "", "", "LOJA 1", "SALA 2", "TÉRREO", "BOX 12", "QUADRA 3 LOTE 5")

# Channels of interest (product.md): code, description, the word names use. Their share
# of all establishments is CHANNEL_WEIGHTS; demand multipliers are in partner.py.
# fmt: off
CHANNELS = (
    ("5611201", "Restaurantes e similares", "RESTAURANTE"),
    ("5611203", "Lanchonetes, casas de chá, de sucos e similares", "LANCHONETE"),
    ("5611204", "Bares e outros estabelecimentos especializados em servir bebidas, sem entretenimento", "BAR"),  # noqa: E501
    ("5611205", "Bares e outros estabelecimentos especializados em servir bebidas, com entretenimento", "CHOPERIA"),  # noqa: E501
    ("5620102", "Serviços de alimentação para eventos e recepções - bufê", "BUFFET"),
    ("4711301", "Comércio varejista de mercadorias em geral, com predominância de produtos alimentícios - hipermercados", "HIPERMERCADO"),  # noqa: E501
    ("4711302", "Comércio varejista de mercadorias em geral, com predominância de produtos alimentícios - supermercados", "SUPERMERCADO"),  # noqa: E501
    ("4712100", "Comércio varejista de mercadorias em geral, com predominância de produtos alimentícios - minimercados, mercearias e armazéns", "MERCEARIA"),  # noqa: E501
    ("4691500", "Comércio atacadista de mercadorias em geral, com predominância de produtos alimentícios", "ATACADÃO"),  # noqa: E501
    ("4637107", "Comércio atacadista de chocolates, confeitos, balas, bombons e semelhantes", "DISTRIBUIDORA"),  # noqa: E501
)
# fmt: on
CHANNEL_WEIGHTS = (0.085, 0.07, 0.05, 0.01, 0.012, 0.002, 0.018, 0.055, 0.006, 0.002)
# fmt: off
OTHER_CNAES = (
    ("4781400", "Comércio varejista de artigos do vestuário e acessórios"),
    ("9602501", "Cabeleireiros, manicure e pedicure"),
    ("4729699", "Comércio varejista de produtos alimentícios em geral ou especializado em produtos alimentícios não especificados anteriormente"),  # noqa: E501
    ("4744099", "Comércio varejista de materiais de construção em geral"),
    ("4930202", "Transporte rodoviário de carga, exceto produtos perigosos e mudanças, intermunicipal, interestadual e internacional"),  # noqa: E501
    ("8599699", "Outras atividades de ensino não especificadas anteriormente"),
    ("5620104", "Fornecimento de alimentos preparados preponderantemente para consumo domiciliar"),
    ("4721102", "Padaria e confeitaria com predominância de revenda"),
    ("4723700", "Comércio varejista de bebidas"),
    ("4520001", "Serviços de manutenção e reparação mecânica de veículos automotores"),
    ("6201501", "Desenvolvimento de programas de computador sob encomenda"),
    ("8630504", "Atividade odontológica"),
    ("7319002", "Promoção de vendas"),
    ("4399103", "Obras de alvenaria"),
    ("8112500", "Condomínios prediais"),
    ("9430800", "Atividades de associações de defesa de direitos sociais"),
    ("6911701", "Serviços advocatícios"),
    ("4120400", "Construção de edifícios"),
    ("1091102", "Fabricação de produtos de padaria e confeitaria com predominância de produção própria"),  # noqa: E501
    ("4530703", "Comércio a varejo de peças e acessórios novos para veículos automotores"),
)
# fmt: on

# Words company and trade names use for the non-channel CNAEs, in OTHER_CNAES order.
OTHER_ACTIVITY = (
    "CONFECÇÕES", "SALÃO DE BELEZA", "EMPÓRIO", "MATERIAIS DE CONSTRUÇÃO", "TRANSPORTES",
    "CURSOS", "MARMITARIA", "PADARIA", "DEPÓSITO DE BEBIDAS", "AUTO MECÂNICA", "TECNOLOGIA",
    "ODONTOLOGIA", "PROMOÇÕES", "CONSTRUÇÕES", "CONDOMÍNIO", "ASSOCIAÇÃO COMUNITÁRIA",
    "ADVOCACIA", "ENGENHARIA", "PANIFICADORA", "AUTO PEÇAS",
)  # fmt: skip

# (code, description, share of non-MEI companies, razao_social suffix, qualificacao)
# fmt: off
NATUREZAS = (
    ("2062", "Sociedade Empresária Limitada", 0.70, "LTDA", "49"),
    ("2305", "Empresa Individual de Responsabilidade Limitada (de Natureza Empresária)", 0.08, "EIRELI", "65"),  # noqa: E501
    ("2054", "Sociedade Anônima Fechada", 0.05, "S.A.", "10"),
    ("2046", "Sociedade Anônima Aberta", 0.01, "S.A.", "16"),
    ("2240", "Sociedade Simples Limitada", 0.06, "SOCIEDADE SIMPLES LTDA", "49"),
    ("2143", "Cooperativa", 0.02, "COOPERATIVA", "16"),
    ("3999", "Associação Privada", 0.08, "ASSOCIAÇÃO", "16"),
)
# fmt: on
NATUREZA_MEI = ("2135", "Empresário (Individual)")
QUALIFICACOES = (
    ("00", "Não informada"), ("05", "Administrador"), ("10", "Diretor"), ("16", "Presidente"),
    ("22", "Sócio"), ("37", "Sócio Pessoa Jurídica Domiciliado no Exterior"),
    ("38", "Sócio Pessoa Física Residente no Exterior"), ("49", "Sócio-Administrador"),
    ("50", "Empresário"), ("65", "Titular Pessoa Física Residente ou Domiciliado no Brasil"),
)  # fmt: skip
PAISES = (
    ("105", "BRASIL"), ("249", "ESTADOS UNIDOS"), ("607", "PORTUGAL"), ("063", "ARGENTINA"),
    ("245", "ESPANHA"), ("386", "ITÁLIA"), ("399", "JAPÃO"), ("023", "ALEMANHA"),
    ("275", "FRANÇA"), ("160", "CHINA, REPÚBLICA POPULAR"),
)  # fmt: skip
FOREIGN_CITIES = {"249": "MIAMI", "607": "LISBOA", "063": "BUENOS AIRES", "245": "MADRI"}
MOTIVOS = (
    ("00", "SEM MOTIVO"), ("01", "EXTINÇÃO POR ENCERRAMENTO LIQUIDAÇÃO VOLUNTÁRIA"),
    ("63", "OMISSÃO DE DECLARAÇÕES"), ("71", "INAPTIDÃO (LEI 11.941/2009 ART.54)"),
    ("73", "OMISSÃO CONTUMAZ"), ("80", "BAIXA REGISTRADA NA JUNTA"),
)  # fmt: skip

# Situações cadastrais with their motivo and share of establishments.
SITUACOES = (("02", "00", 0.66), ("08", "01", 0.24), ("04", "63", 0.06), ("03", "73", 0.03),
             ("01", "71", 0.01))  # fmt: skip

# Per state (sigla): IBGE prefix, main DDDs, first CEP digits, and the mean monthly
# household income (R$) the POF sample is drawn around (plausible, not official).
STATES = {
    "RO": ("11", (69,), 76, 4300), "AC": ("12", (68,), 69, 3900), "AM": ("13", (92, 97), 69, 3700),
    "RR": ("14", (95,), 69, 4400), "PA": ("15", (91, 93, 94), 66, 3500),
    "AP": ("16", (96,), 68, 4200), "TO": ("17", (63,), 77, 4100),
    "MA": ("21", (98, 99), 65, 2900), "PI": ("22", (86, 89), 64, 3100),
    "CE": ("23", (85, 88), 60, 3300), "RN": ("24", (84,), 59, 3700),
    "PB": ("25", (83,), 58, 3500), "PE": ("26", (81, 87), 50, 3600),
    "AL": ("27", (82,), 57, 3000), "SE": ("28", (79,), 49, 3600),
    "BA": ("29", (71, 73, 74, 75, 77), 40, 3400), "MG": ("31", (31, 32, 33, 34, 35, 37, 38), 30, 5000),  # noqa: E501
    "ES": ("32", (27, 28), 29, 5100), "RJ": ("33", (21, 22, 24), 20, 6300),
    "SP": ("35", (11, 12, 13, 14, 15, 16, 17, 18, 19), 10, 6900),
    "PR": ("41", (41, 42, 43, 44, 45, 46), 80, 6000), "SC": ("42", (47, 48, 49), 88, 6400),
    "RS": ("43", (51, 53, 54, 55), 90, 6100), "MS": ("50", (67,), 79, 5600),
    "MT": ("51", (65, 66), 78, 5500), "GO": ("52", (61, 62, 64), 74, 5300),
    "DF": ("53", (61,), 70, 9800),
}  # fmt: skip

# State capitals (IBGE code -> rough population); other municipalities get a
# seeded log-normal population.
CAPITAL_POPULATION = {
    "1100205": 460_000, "1200401": 364_000, "1302603": 2_063_000, "1400100": 413_000,
    "1501402": 1_303_000, "1600303": 442_000, "1721000": 302_000, "2111300": 1_037_000,
    "2211001": 866_000, "2304400": 2_428_000, "2408102": 751_000, "2507507": 833_000,
    "2611606": 1_488_000, "2704302": 957_000, "2800308": 602_000, "2927408": 2_418_000,
    "3106200": 2_315_000, "3205309": 322_000, "3304557": 6_211_000, "3550308": 11_451_000,
    "4106902": 1_773_000, "4205407": 537_000, "4314902": 1_332_000, "5002704": 898_000,
    "5103403": 650_000, "5208707": 1_437_000, "5300108": 2_817_000,
}  # fmt: skip

# Partner categories: (name, active, mean unit price R$, mean units per sale row).
CATEGORIES = (
    ("Chocolate", True, 18.0, 12), ("Vinho", True, 45.0, 6), ("Arroz", True, 28.0, 20),
    ("Feijão", True, 9.0, 24), ("Cerveja", True, 4.5, 96), ("Carne", True, 42.0, 15),
    ("Café", True, 19.0, 12), ("Açúcar", True, 5.5, 30), ("Óleo de soja", True, 8.0, 20),
    ("Leite", True, 5.2, 48), ("Refrigerante", True, 8.5, 36), ("Água mineral", True, 2.5, 60),
    ("Farinha de mandioca", True, 7.0, 20), ("Macarrão", True, 5.0, 30),
    ("Queijo", True, 48.0, 6), ("Frango", True, 16.0, 20), ("Pão de forma", True, 9.5, 15),
    ("Biscoito", True, 4.0, 40), ("Cachaça", True, 22.0, 12), ("Suco", True, 7.5, 24),
    ("Açaí", True, 25.0, 10), ("Manteiga", True, 14.0, 10), ("Ovos", True, 15.0, 12),
    ("Tomate", True, 7.0, 15), ("Batata", True, 5.0, 20), ("Sorvete", True, 30.0, 8),
    ("Azeite", True, 38.0, 6), ("Pescado", True, 45.0, 8),
    ("Panetone", False, 25.0, 12), ("Espumante", False, 55.0, 6),
)  # fmt: skip
BEVERAGES = frozenset({"Vinho", "Cerveja", "Refrigerante", "Água mineral", "Cachaça", "Suco",
                       "Espumante"})  # fmt: skip
SWEETS = frozenset({"Chocolate", "Biscoito", "Sorvete", "Açúcar", "Panetone"})
STAPLES = frozenset(
    {"Arroz", "Feijão", "Carne", "Óleo de soja", "Farinha de mandioca", "Macarrão", "Frango",
     "Ovos", "Tomate", "Batata", "Leite", "Pescado"}
)  # fmt: skip

# Regional tastes planted in the POF spending (state -> category -> multiplier).
REGIONAL_TASTE = {
    "Feijão": {"MG": 1.6, "GO": 1.4, "BA": 1.3},
    "Vinho": {"RS": 2.2, "SC": 1.7, "SP": 1.2},
    "Carne": {"RS": 1.6, "MS": 1.5, "MT": 1.5, "GO": 1.3},
    "Farinha de mandioca": {"PA": 2.5, "AM": 2.2, "MA": 1.8, "CE": 1.5, "AP": 2.0},
    "Açaí": {"PA": 3.5, "AM": 2.5, "AP": 2.5},
    "Pescado": {"AM": 2.5, "PA": 2.0, "AP": 1.8},
    "Cerveja": {"RJ": 1.3, "BA": 1.3, "PE": 1.2},
    "Café": {"MG": 1.4, "ES": 1.4},
}
