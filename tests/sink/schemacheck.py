#!/usr/bin/env python3
"""schemacheck.py SCHEMA [FILE] — validates one JSON document (FILE, or
standard input) against a JSON Schema (contrib/schemas/) with the
jsonschema package (Debian's python3-jsonschema). Prints each violation
and exits 1 when there is one."""
import json
import sys

import jsonschema

schema = json.load(open(sys.argv[1]))
doc = json.load(open(sys.argv[2]) if len(sys.argv) > 2 else sys.stdin)
validator = jsonschema.Draft7Validator(schema)
errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
for e in errors:
    print("%s: %s" % ("/".join(map(str, e.path)) or "(top)", e.message))
sys.exit(1 if errors else 0)
