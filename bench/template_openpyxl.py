# The side-by-side anchor of rct survey template: openpyxl's write-only
# mode writing the same cell values (read from rct's template first, not
# timed) to a new workbook, without the validations, styles and
# protection rct writes. Prints the seconds of the writing.
#   python3 bench/template_openpyxl.py TEMPLATE.xlsx SHEET OUT.xlsx
import sys
import time

import openpyxl

src = openpyxl.load_workbook(sys.argv[1], read_only=True)
rows = [list(r) for r in src[sys.argv[2]].iter_rows(values_only=True)]
t0 = time.perf_counter()
wb = openpyxl.Workbook(write_only=True)
ws = wb.create_sheet(sys.argv[2])
for r in rows:
    ws.append(r)
wb.save(sys.argv[3])
print("write %.3f s" % (time.perf_counter() - t0))
