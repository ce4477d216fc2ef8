# The side-by-side anchor of rct survey import: pandas.read_excel of the
# same workbook's sheet (openpyxl engine), which checks and stores nothing.
#   python3 bench/read_excel.py FILE.xlsx SHEET
import sys
import pandas

df = pandas.read_excel(sys.argv[1], sheet_name=sys.argv[2])
print(len(df), "rows")
