#!/usr/bin/python3
"""Write referral workbooks with tools other than excelize, for the enrolment tests.

referrals_openpyxl.xlsx  written by openpyxl: header moved to B2, date cells and
                         text dates, numbers as numbers and as text, trailing
                         spaces, a styled blank row.
referrals_libreoffice.xlsx  the same workbook opened and saved by LibreOffice Calc
                         (soffice --headless --convert-to xlsx), when soffice exists.

Run from the repository root:  /usr/bin/python3 testdata/make_referrals.py
(Debian: apt-get install python3-openpyxl libreoffice-calc-nogui)
"""
import datetime, os, shutil, subprocess, tempfile
from openpyxl import Workbook
from openpyxl.styles import PatternFill

def nrn(yy, mm, dd, serial, born2000=False):
    nine = int(f"{yy:02d}{mm:02d}{dd:02d}{serial:03d}")
    base = nine + 2_000_000_000 if born2000 else nine
    return f"{nine:09d}{97 - base % 97:02d}"

here = os.path.dirname(os.path.abspath(__file__))
wb = Workbook()
ws = wb.active
ws.title = "referrals"
header = ["referral_id", "referral_date", "role", "national_number", "first_name", "last_name",
          "birth_date", "postcode", "consent", "income", "education", "stimulation", "work",
          "housing", "health", "household", "language"]
for j, h in enumerate(header):
    ws.cell(row=2, column=2 + j, value=h)
rows = [
    # eligible (4 weak), consent: enrolled. Date cells; NRN as text with separators.
    ["R-001", datetime.date(2017, 3, 14), "mother", "85.07.30-033.28", "Hélène ", "Van den Broucke",
     datetime.date(1985, 7, 30), 8500, "ja", 1, 1, 1, 1, 0, 0, "single_parent", "dutch"],
    ["R-001", None, "child", nrn(17, 3, 1, 12, True), "Lina", "Van den Broucke",
     "01/03/2017", "8500", None, None, None, None, None, None, None, None, None],
    # weak on 2 only: not eligible. Text dates; NRN as a number.
    ["R-002", "20/03/2017", "Mother", 93051822361, "Amina", "El Amrani",
     "18/05/1993", "8510", "yes", 0, 1, 0, 1, 0, 0, "two_parents", "other"],
    ["R-002", "20/03/2017", "partner", "", "Youssef", "El Amrani",
     "", "8510", "yes", 0, 1, 0, 1, 0, 0, "two_parents", "other"],
    # eligible, consent: enrolled; BIS number, no birth date.
    ["R-003", datetime.datetime(2017, 4, 2), "moeder", "98472899765", "Hodan", "Warsame",
     None, "8500 ", "1", "1", "1", "1", "0", "0", "1", "Single_Parent", "OTHER"],
]
r = 3
for row in rows:
    for j, v in enumerate(row):
        c = ws.cell(row=r, column=2 + j, value=v)
        if isinstance(v, (datetime.date, datetime.datetime)):
            c.number_format = "DD/MM/YYYY"
    r += 1
    if r == 5:
        # a styled but empty row, as spreadsheet users leave behind
        for j in range(len(header)):
            ws.cell(row=r, column=2 + j).fill = PatternFill("solid", fgColor="FFFF00")
        r += 1
out = os.path.join(here, "referrals_openpyxl.xlsx")
wb.save(out)
print("wrote", out)

soffice = shutil.which("soffice") or shutil.which("libreoffice")
if soffice:
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "referrals_libreoffice.xlsx")
        shutil.copy(out, src)
        outdir = os.path.join(tmp, "out")
        subprocess.run([soffice, "--headless", "--norestore", f"-env:UserInstallation=file://{tmp}/profile",
                        "--convert-to", "xlsx:Calc MS Excel 2007 XML", "--outdir", outdir, src], check=True)
        dst = os.path.join(here, "referrals_libreoffice.xlsx")
        shutil.copy(os.path.join(outdir, "referrals_libreoffice.xlsx"), dst)
        print("wrote", dst)
else:
    print("soffice not found: referrals_libreoffice.xlsx not rewritten")
