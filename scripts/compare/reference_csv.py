#!/usr/bin/env python3
"""Writes the rows of a CSV file again with Python's csv.writer, as a user's script would write
the CSV load's rows (here already strings: a script formatting typed values would be slower).
Prints the seconds the writing took (reading the rows first is not counted).

    reference_csv.py IN OUT
"""
import csv
import sys
import time

rows = list(csv.reader(open(sys.argv[1], newline="")))
started = time.perf_counter()
with open(sys.argv[2], "w", newline="") as f:
    csv.writer(f).writerows(rows)
seconds = time.perf_counter() - started
print(f"{seconds:.2f} s, {len(rows) / seconds:.0f} rows/s")
