#!/usr/bin/env python3
"""Records Order Get pages from an Aurora XML endpoint (a `commerce-etl demo-store`) as files,
the way a `files` replay pipeline reads them: page 1 freezes a snapshot and returns its token,
pages 2.. ask for it with that token.

    record_pages.py URL OUTDIR [--pages N] [--limit 200] [--token T]
"""
import argparse
import os
import re
import urllib.request

from aurora_xml import envelope

parser = argparse.ArgumentParser()
parser.add_argument("url")
parser.add_argument("outdir")
parser.add_argument("--pages", type=int, default=100)
parser.add_argument("--limit", type=int, default=200)
parser.add_argument("--token", default="t")
args = parser.parse_args()
os.makedirs(args.outdir, exist_ok=True)


paging_token = None
for page in range(1, args.pages + 1):
    request = urllib.request.Request(args.url, data=envelope(page, paging_token, args.limit, args.token), headers={"Content-Type": "application/xml"})
    body = urllib.request.urlopen(request, timeout=120).read()
    if paging_token is None:
        found = re.search(rb"<Token>([^<]+)</Token>", body)
        paging_token = found.group(1).decode() if found else None
    if b"<Order>" not in body:
        break
    with open(os.path.join(args.outdir, f"order-get-{page:05d}.xml"), "wb") as f:
        f.write(body)
