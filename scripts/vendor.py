"""Copy the front-end libraries the PWA needs from node_modules/ into pwa/static/vendor/.

The copies are committed, so running (and testing) the app needs no Node; only updating a
library does:

    npm ci && python3 scripts/vendor.py      # or: npm run vendor

zxing-wasm: the reader-only IIFE build (defines the global ``ZXingWASM``, loaded with
``importScripts`` in pwa/static/scan-worker.js) and its ``.wasm``, which the worker points to
with ``prepareZXingModule({overrides: {locateFile}})`` so it is served by the app, never a CDN.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NODE_MODULES = ROOT / "node_modules"
VENDOR = ROOT / "pwa" / "static" / "vendor"

# package → [(file in the package, name under pwa/static/vendor/<package>/)]
FILES = {
    "zxing-wasm": [
        ("dist/iife/reader/index.js", "zxing-reader.js"),
        ("dist/reader/zxing_reader.wasm", "zxing_reader.wasm"),
        ("LICENSE", "LICENSE"),
    ],
}


def wanted_version(package: str) -> str:
    deps = json.loads((ROOT / "package.json").read_text())["dependencies"]
    return deps[package]


def vendor(package: str) -> list[str]:
    source = NODE_MODULES / package
    meta = json.loads((source / "package.json").read_text())
    if meta["version"] != wanted_version(package):
        sys.exit(f"{package}: node_modules has {meta['version']}, package.json pins "
                 f"{wanted_version(package)}; run npm ci first")
    target = VENDOR / package
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    lines = [f"{package} {meta['version']} (npm), copied by scripts/vendor.py; do not edit by hand."]
    for src, name in FILES[package]:
        data = (source / src).read_bytes()
        (target / name).write_bytes(data)
        lines.append(f"{name}  sha256 {hashlib.sha256(data).hexdigest()}  from {src}")
    (target / "VERSION").write_text("\n".join(lines) + "\n")
    return lines


def main() -> None:
    if not NODE_MODULES.is_dir():
        sys.exit("node_modules/ is missing: run `npm ci` first")
    for package in FILES:
        print("\n".join(vendor(package)))


if __name__ == "__main__":
    main()
