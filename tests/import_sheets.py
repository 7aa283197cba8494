"""A spreadsheet of the kind a secretariat keeps, written for the tests: human headers, names, gaps.

Its rows mix what staff meet: country names and variants ("Czech Republic", "UK",
"Côte d’Ivoire", "Basque Country (Spain)"), an organisation in two federations,
"May 2017" and "first half of 2017", starts nobody knows but a source attests, a
source address per row, and a header no table of synonyms knows ("Affiliation
type"). Every row is one a person would accept.
"""

import csv
import io

import openpyxl

HEADER = [
    "Organisation",
    "Acronym",
    "Type",
    "Country",
    "Federation",
    "Affiliation type",
    "Member since",
    "Source",
    "Source title",
]
LIST = "https://example.org/cicopa/members-2024"
ROWS = [
    [
        "Svaz českých a moravských výrobních družstev",
        "SČMVD",
        "National",
        "Czech Republic",
        "CICOPA",
        "Full",
        "May 2017",
        LIST,
        "CICOPA members",
    ],
    [
        "Svaz českých a moravských výrobních družstev",
        "SČMVD",
        "National",
        "Czech Republic",
        "CECOP",
        "Full",
        "",
        "https://example.org/cecop/members",
        "CECOP members",
    ],
    [
        "Confédération générale des Scop",
        "CG Scop",
        "Fédération nationale",
        "France",
        "CICOPA",
        "Full",
        "",
        LIST,
        "CICOPA members",
    ],
    [
        "Confédération générale des Scop",
        "CG Scop",
        "Fédération nationale",
        "France",
        "CECOP",
        "Full",
        "",
        "https://example.org/cecop/members",
        "CECOP members",
    ],
    ["Co-operatives UK", "", "National", "UK", "CICOPA", "Associate", "2019", LIST, "CICOPA members"],
    [
        "Legacoop Produzione e Servizi",
        "",
        "National",
        "Italy",
        "CECOP",
        "Full",
        "",
        "https://example.org/cecop/members",
        "CECOP members",
    ],
    [
        "Confederación Española de Cooperativas de Trabajo",
        "COCETA",
        "National",
        "España",
        "CICOPA",
        "membre de plein droit",
        "first half of 2017",
        LIST,
        "CICOPA members",
    ],
    [
        "Union des coopératives de Côte d’Ivoire",
        "",
        "National",
        "Côte d’Ivoire",
        "CICOPA",
        "Full",
        "2016",
        LIST,
        "CICOPA members",
    ],
    [
        "Erkide",
        "ERKIDE",
        "National",
        "Basque Country (Spain)",
        "CICOPA",
        "Full",
        "H1 2018",
        LIST,
        "CICOPA members",
    ],
    [
        "Türkiye worker co-operatives",
        "",
        "National",
        "Turkey",
        "CICOPA",
        "Observer",
        "",
        LIST,
        "CICOPA members",
    ],
    [
        "Coopérative du Congo",
        "",
        "Coopérative",
        "DR Congo",
        "CICOPA",
        "Full",
        "mayo de 2015",
        LIST,
        "CICOPA members",
    ],
    [
        "ULCCS",
        "ULCCS",
        "Co-operative",
        "India (Kerala)",
        "CICOPA",
        "Full",
        "May 2017",
        LIST,
        "CICOPA members",
    ],
]
# The memberships whose start nobody knows (member's acronym or name, federation): attested by
# their source, never joins.
ATTESTED = {
    ("SČMVD", "CECOP"),
    ("CG Scop", "CICOPA"),
    ("CG Scop", "CECOP"),
    ("Legacoop Produzione e Servizi", "CECOP"),
    ("Türkiye worker co-operatives", "CICOPA"),
}


def as_csv(rows=ROWS, delimiter=","):
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter).writerows([HEADER, *rows])
    return out.getvalue().encode("utf-8")


def as_xlsx(rows=ROWS):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Members"
    for row in [HEADER, *rows]:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
