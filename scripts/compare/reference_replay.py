#!/usr/bin/env python3
"""What a retailer would script instead of a `files` replay: Python's ElementTree reading each
recorded Order Get page, a dict per order (child elements by tag, nested lists kept), and a
one-column CSV of OrderID.

    reference_replay.py OUT.csv PAGE.xml...
"""
import csv
import sys
import xml.etree.ElementTree as ET

from aurora_xml import record

with open(sys.argv[1], "w", newline="") as f:
    writer = csv.writer(f, lineterminator="\n")
    writer.writerow(["OrderID"])
    for path in sys.argv[2:]:
        for _, element in ET.iterparse(path):
            if element.tag == "Order":
                writer.writerow([record(element).get("OrderID")])
                element.clear()
