#!/usr/bin/python3
"""Validate JSON documents against the wire protocol's JSON Schemas (draft 2020-12).

    validate.py SAMPLES.json      SAMPLES is a JSON list of {"schema": "<file in schemas/>", "instance": …}
    validate.py --examples        every valid example of examples/manifest.json

Prints one line per failure and exits 1 if any; 0 and "ok N" otherwise. Used by the Swift tests
(encoded acks, replies and events) and by protocols/client/test_client.py.
"""
import json
import os
import sys

import jsonschema

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SCHEMAS = os.path.join(ROOT, "schemas")


def load_schemas():
    store = {}
    for name in sorted(os.listdir(SCHEMAS)):
        if name.endswith(".schema.json"):
            with open(os.path.join(SCHEMAS, name), encoding="utf-8") as f:
                store[name] = json.load(f)
    return store


class Validator:
    def __init__(self):
        self.store = load_schemas()
        by_id = {s["$id"]: s for s in self.store.values()}
        cls = jsonschema.Draft202012Validator
        for s in self.store.values():
            cls.check_schema(s)
        self._validators = {
            name: cls(s, resolver=jsonschema.RefResolver(s["$id"], s, store=by_id))
            for name, s in self.store.items()
        }

    def errors(self, schema_name, instance):
        v = self._validators[schema_name]
        return [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in v.iter_errors(instance)]


def example_samples():
    with open(os.path.join(ROOT, "examples", "manifest.json"), encoding="utf-8") as f:
        manifest = json.load(f)
    for entry in manifest["valid"]:
        with open(os.path.join(ROOT, "examples", entry["file"]), encoding="utf-8") as f:
            yield entry["file"], entry["schema"], json.load(f)


def main(argv):
    validator = Validator()
    if argv[1:] == ["--examples"]:
        samples = list(example_samples())
    elif len(argv) == 2:
        with open(argv[1], encoding="utf-8") as f:
            samples = [(f"sample {i}", s["schema"], s["instance"]) for i, s in enumerate(json.load(f))]
    else:
        print(__doc__, file=sys.stderr)
        return 2
    failures = 0
    for label, schema, instance in samples:
        for err in validator.errors(schema, instance):
            failures += 1
            print(f"{label} ({schema}): {err}")
    if failures:
        return 1
    print(f"ok {len(samples)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
