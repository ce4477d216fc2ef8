#!/usr/bin/python3
"""Write filled m6 workbooks with tools other than excelize, for the survey
import tests (survey/fixtures_test.go).

  m6_openpyxl.xlsx          openpyxl: header moved one column right, dates as
                            date cells and as dd/mm/yyyy text, numbers stored as
                            text, trailing spaces, labels instead of codes, a
                            styled blank row, the template's _meta sheet
  m6_libreoffice.xlsx       the same workbook saved again by LibreOffice Calc
  m6_formula_openpyxl.xlsx  a formula in an answer cell (no cached value)
  m6_formula_libreoffice.xlsx  the same saved by LibreOffice (cached value)

The _meta sheet names the example codebook by its SHA-256: when
survey/example_codebook.yaml changes, run this script again:

  cd survey/testdata && /usr/bin/python3 make_workbooks.py

Needs python3-openpyxl and libreoffice-calc-nogui (Debian packages).
"""
import datetime
import hashlib
import os
import shutil
import subprocess
import tempfile

import openpyxl
from openpyxl.styles import PatternFill

HERE = os.path.dirname(os.path.abspath(__file__))
CODEBOOK = os.path.join(HERE, "..", "example_codebook.yaml")

COLUMNS = ["study_code", "due_date", "window_opens", "window_closes", "interview_date", "interviewer",
           "hh_size", "hh_adults", "single_parent", "income_total", "income_source", "arrears", "arrears_types",
           "arrears_amount", "depriv_heating", "depriv_meal", "depriv_unexpected", "work_status", "work_hours",
           "childcare_use", "childcare_type", "housing_tenure", "social_housing", "rent_amount", "health_self",
           "can_ask_help", "services_used", "satisfaction_services"]

ROWS = [
    # K-0001: dates as date cells, numbers as numbers, labels in Dutch
    ["K-0001", datetime.date(2017, 4, 3), datetime.date(2017, 3, 20), datetime.date(2017, 5, 15),
     datetime.date(2017, 4, 5), "Ann", 4, 2, "Nee", 1450, "work; child_benefit", "Ja", "rent", 1200.5,
     0, 0, 1, "Werknemer", 30, "Ja", "Kinderdagverblijf", "Sociale huur", 1, 420, "Goed", 1, "OCMW", 8],
    # K-0002: text everywhere: dd/mm/yyyy, numbers as text, trailing spaces, codes
    ["K-0002 ", "03/04/2017", "20/03/2017", "15/05/2017", "06/04/2017 ", "Bert ", "3 ", "1", "1", "1.234,00",
     "leefloon", "0", None, None, "1", "1", "1", "job_seeker", None, "0", None, "private_rent", "0", "650,00",
     "3", "0", "ocmw; caw", "7 "],
    # K-0003: missing codes and a label of a missing code
    ["K-0003", "03/04/2017", "20/03/2017", "15/05/2017", "07/04/2017", "Ann", 5, 2, "Nee", -99, None, "Weet het niet",
     None, None, 0, 0, 0, "inactive", None, "Nee", None, "with_family", 0, None, 2, 1, "none", None],
]

META = [("key", "value"), ("format", "rct survey template"), ("template_version", "1"), ("trial", "MISSION"),
        ("form", "m6"), ("codebook_id", "MISSION-survey"), ("codebook_version", "1"), ("codebook_label", "2016.1"),
        ("codebook_sha256", None), ("language", "nl"), ("interviewer", ""), ("written_on", "2017-04-01")]


def workbook(formula=False):
    sha = hashlib.sha256(open(CODEBOOK, "rb").read()).hexdigest()
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "m6"
    # Header moved one column to the right (column B), as when someone inserts a column.
    for j, name in enumerate(COLUMNS):
        ws.cell(row=1, column=j + 2, value=name)
    for i, row in enumerate(ROWS):
        for j, v in enumerate(row):
            c = ws.cell(row=i + 2, column=j + 2, value=v)
            if isinstance(v, datetime.date):
                c.number_format = "DD/MM/YYYY"
    # A styled blank row between answers and the end, as spreadsheet programs leave.
    for j in range(len(COLUMNS)):
        ws.cell(row=len(ROWS) + 3, column=j + 2).fill = PatternFill("solid", fgColor="FFFF00")
    if formula:
        ws.cell(row=2, column=COLUMNS.index("income_total") + 2, value="=1000+450")
    meta = wb.create_sheet("_meta")
    for k, v in META:
        meta.append([k, sha if k == "codebook_sha256" else v])
    meta.sheet_state = "veryHidden"
    return wb


def libreoffice(src, dst):
    with tempfile.TemporaryDirectory() as out:
        subprocess.run(["soffice", "--headless", "--calc", "--convert-to", "xlsx:Calc MS Excel 2007 XML", "--outdir", out, src],
                       check=True, stdout=subprocess.DEVNULL, env=dict(os.environ, HOME=out))
        shutil.move(os.path.join(out, os.path.basename(src)), dst)


def main():
    os.chdir(HERE)
    workbook().save("m6_openpyxl.xlsx")
    workbook(formula=True).save("m6_formula_openpyxl.xlsx")
    libreoffice("m6_openpyxl.xlsx", "m6_libreoffice.xlsx")
    libreoffice("m6_formula_openpyxl.xlsx", "m6_formula_libreoffice.xlsx")


if __name__ == "__main__":
    main()
