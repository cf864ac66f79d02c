#!/usr/bin/env python3
"""Python's sqlite3 inserting the rows of a CSV (as `executemany`, one transaction) into a table
of the same columns, for comparing the SQLite load on the same rows. Numbers are inserted as
numbers (integers as INTEGER, decimals as REAL, as the SQLite load stores them); prints the
insert's own seconds and rows per second (reading the CSV is not counted).

    reference_sqlite.py IN.csv OUT.sqlite
"""
import csv
import re
import sqlite3
import sys
import time

INTEGER = re.compile(r"^-?[0-9]+$")
DECIMAL = re.compile(r"^-?[0-9]+\.[0-9]+$")


def typed(cell):
    if INTEGER.match(cell) and not (len(cell) > 1 and cell.startswith("0")):
        return int(cell)
    if DECIMAL.match(cell):
        return float(cell)
    return cell

with open(sys.argv[1], newline="") as f:
    reader = csv.reader(f)
    header = next(reader)
    rows = [[typed(c) for c in row] for row in reader]
started = time.perf_counter()
db = sqlite3.connect(sys.argv[2])
db.execute("PRAGMA journal_mode=WAL")
db.execute("CREATE TABLE t (" + ", ".join(f'"{c}"' for c in header) + ")")
db.executemany("INSERT INTO t VALUES (" + ", ".join("?" * len(header)) + ")", rows)
db.commit()
db.close()
seconds = time.perf_counter() - started
print(f"{seconds:.2f} s, {int(len(rows) / seconds)} rows/s")
