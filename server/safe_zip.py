"""Reading files out of a zip without trusting it: a OneRoster export or an .xlsx workbook.

Encrypted members and compression methods Python does not read are refused with a sentence;
every member is capped while it unpacks (the sizes a zip declares can lie), so a zip bomb
costs at most MAX_MEMBER_BYTES of memory.
"""

from __future__ import annotations

import zipfile

from server.errors import ImportFailed

MAX_MEMBER_BYTES = 64 * 1024 * 1024  # users.csv of a very large school is a few MB
MAX_RATIO = 100  # CSV packs 5-10 times; a zip bomb packs thousands of times
READABLE = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate", zipfile.ZIP_BZIP2: "bzip2",
            zipfile.ZIP_LZMA: "lzma"}


def member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, zip_name: str) -> bytes:
    """One file of the zip, refused with a sentence when it is encrypted, packed in a way we do
    not read, or unpacks to more than MAX_MEMBER_BYTES or MAX_RATIO times its packed size (a
    zip bomb). The limits hold while reading: the sizes a zip declares can lie."""
    if info.flag_bits & 0x1:
        raise ImportFailed(f"{zip_name}: {info.filename} is password-protected. Export the roster again "
                           "without a password.")
    if info.compress_type not in READABLE:
        raise ImportFailed(f"{zip_name}: {info.filename} is packed with compression method {info.compress_type} "
                           "(for example Deflate64), which PaperBridge does not read. Zip the files again with "
                           "ordinary compression (Windows: Send to > Compressed folder).")
    limit = min(MAX_MEMBER_BYTES, max(info.compress_size, 1024) * MAX_RATIO)
    chunks, size = [], 0
    with archive.open(info) as member:
        while chunk := member.read(1024 * 1024):
            size += len(chunk)
            if size > limit:
                raise ImportFailed(f"{zip_name}: {info.filename} unpacks to more than {limit // (1024 * 1024) or 1} MB "
                                   f"from {info.compress_size:,} bytes: not a roster export (a zip bomb?). "
                                   "Nothing was imported.")
            chunks.append(chunk)
    return b"".join(chunks)
