#!/usr/bin/env python3
"""Writes the bytes of a file to a new file with one write() per 64 KiB and an fsync at the end,
as the floor for the CSV load writing the same bytes (which also syncs its file before
publishing it). Prints the seconds the writes took (reading the file first is not counted).

    reference_write.py IN OUT
"""
import os
import sys
import time

data = open(sys.argv[1], "rb").read()
started = time.perf_counter()
fd = os.open(sys.argv[2], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
view = memoryview(data)
for offset in range(0, len(data), 1 << 16):
    os.write(fd, view[offset:offset + (1 << 16)])
os.fsync(fd)
os.close(fd)
seconds = time.perf_counter() - started
print(f"{seconds:.2f} s, {len(data) / 1e6 / seconds:.1f} MB/s")
