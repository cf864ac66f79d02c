#!/usr/bin/env python3
"""What a retailer would script instead of pipelines/orders-export.yml, with Python's standard
library only: page through Order Get (urllib, one request at a time), parse each page with
ElementTree into a dict per order, and write the same three outputs: one CSV row and one SQLite
row per order line, and the whole orders as gzipped NDJSON.

    reference_export.py URL OUTDIR [--limit 200] [--token T]
"""
import argparse
import csv
import gzip
import json
import os
import re
import sqlite3
import urllib.request
import xml.etree.ElementTree as ET

from aurora_xml import envelope, record

parser = argparse.ArgumentParser()
parser.add_argument("url")
parser.add_argument("outdir")
parser.add_argument("--limit", type=int, default=200)
parser.add_argument("--token", default="t")
args = parser.parse_args()
os.makedirs(args.outdir, exist_ok=True)

COLUMNS = ["order_id", "created", "status", "charged_currency", "currency", "exchange_rate", "line", "sku", "ean",
           "quantity", "price", "discount", "tax", "line_status"]


def items(order):
    found = order.get("Items") or {}
    found = found.get("Item", []) if isinstance(found, dict) else []
    return found if isinstance(found, list) else [found]


csv_file = open(os.path.join(args.outdir, "order-lines.csv"), "w", newline="")
lines_csv = csv.writer(csv_file, lineterminator="\n")
lines_csv.writerow(COLUMNS)
db = sqlite3.connect(os.path.join(args.outdir, "orders.sqlite"))
db.execute("DROP TABLE IF EXISTS order_lines")  # a rerun replaces the outputs, as the pipeline does
db.execute("CREATE TABLE order_lines (" + ", ".join(f'"{c}"' for c in COLUMNS) + ")")
archive = gzip.open(os.path.join(args.outdir, "orders.ndjson.gz"), "wt", compresslevel=6)

paging_token, page = None, 1
while True:
    request = urllib.request.Request(args.url, data=envelope(page, paging_token, args.limit, args.token), headers={"Content-Type": "application/xml"})
    body = urllib.request.urlopen(request, timeout=120).read()
    if paging_token is None:
        found = re.search(rb"<Token>([^<]+)</Token>", body)
        paging_token = found.group(1).decode() if found else None
    orders = [record(o) for o in ET.fromstring(body).iter("Order")]
    if not orders:
        break
    rows = []
    for order in orders:
        archive.write(json.dumps(order, ensure_ascii=False) + "\n")
        for item in items(order):
            status = item.get("LineStatus") or {}
            rows.append([order.get("OrderID"), order.get("DateCreated"), order.get("OrderStatus"), order.get("ChargedCurrency"),
                         order.get("Currency"), order.get("ExchangeRate"), item.get("LineOrder"), item.get("VariationReference"),
                         item.get("VariationEAN"), item.get("Quantity"), item.get("Price"), item.get("Discount"), item.get("Tax"),
                         status.get("StatusCode") if isinstance(status, dict) else None])
    lines_csv.writerows(rows)
    db.executemany("INSERT INTO order_lines VALUES (" + ", ".join("?" * len(COLUMNS)) + ")", rows)
    page += 1
db.commit()
db.close()
archive.close()
csv_file.close()
