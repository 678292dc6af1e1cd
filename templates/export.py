#!/usr/bin/env python3
"""Writes self-contained template repositories, each with its own copy of the runtime.

faas-cli and func copy only a template's own folder into a function, so the runtime has to be
inside it. The repository keeps one copy (templates/runtime/dilu_runtime); this script puts it
into the layouts the two tools read:

  python3 templates/export.py --openfaas OUT   OUT/template/python3-http-gpu/
      use: copy OUT/template into your project, or push OUT as a git repository and
      `faas-cli template pull <url>`; then `faas-cli new fn --lang python3-http-gpu`.
  python3 templates/export.py --knative OUT    OUT/python/gpu/
      use: `func create -l python -t gpu --repository file://OUT fn`, or push OUT as a git
      repository and `func repository add dilu <url>`; then `func create -l python -t dilu/gpu`.

Only the standard library is used, so it runs with any Python >= 3.11.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
RUNTIME = os.path.join(HERE, "runtime", "dilu_runtime")
OPENFAAS = os.path.join(HERE, "openfaas", "python3-http-gpu")
KNATIVE = os.path.join(HERE, "knative", "python-gpu")

IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache")


def _copy_template(src: str, dest: str) -> str:
    if os.path.exists(dest):
        shutil.rmtree(dest)
    shutil.copytree(src, dest, ignore=IGNORE)
    shutil.copytree(RUNTIME, os.path.join(dest, "dilu_runtime"), ignore=IGNORE)
    return dest


def export_openfaas(out: str) -> str:
    """OUT/template/python3-http-gpu: the layout `faas-cli template pull` and `faas-cli new` read."""
    return _copy_template(OPENFAAS, os.path.join(out, "template", "python3-http-gpu"))


def export_knative(out: str) -> str:
    """OUT/python/gpu: a func template repository with runtime `python` and template `gpu`."""
    return _copy_template(KNATIVE, os.path.join(out, "python", "gpu"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--openfaas", metavar="OUT", help="write the OpenFaaS template repository here")
    parser.add_argument("--knative", metavar="OUT", help="write the func template repository here")
    args = parser.parse_args(argv)
    if not args.openfaas and not args.knative:
        parser.error("give --openfaas OUT and/or --knative OUT")
    if args.openfaas:
        print(export_openfaas(args.openfaas))
    if args.knative:
        print(export_knative(args.knative))
    return 0


if __name__ == "__main__":
    sys.exit(main())
