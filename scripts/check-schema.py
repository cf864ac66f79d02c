#!/usr/bin/env python3
"""Checks every shipped pipeline and every YAML example in the README against
schema/pipeline.schema.json with Python's jsonschema package: a validator written by other
people than the schema's. Also checks that the validator refuses a few files the tool refuses,
so a schema that accepts everything cannot pass.

    python3 scripts/check-schema.py [REPO]

Exit code 0 when all is well, 1 with one line per problem otherwise, 3 when jsonschema (with
draft 2020-12) or PyYAML is missing.
"""
import copy
from importlib import metadata
import glob
import json
import os
import re
import sys

try:
    import jsonschema
    import yaml
    from jsonschema import Draft202012Validator
except ImportError as error:
    print(f"skipped: {error} (install python3-jsonschema and python3-yaml)")
    sys.exit(3)


class TextDates(yaml.SafeLoader):
    """YAML as the tool reads it: dates stay text."""


TextDates.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}

root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
with open(os.path.join(root, "schema", "pipeline.schema.json")) as f:
    schema = json.load(f)
Draft202012Validator.check_schema(schema)

partial = copy.deepcopy(schema)
partial.pop("required", None)


def part(name):
    return {"$schema": schema["$schema"], "$defs": schema["$defs"], "$ref": f"#/$defs/{name}"}


validators = {
    "pipeline": Draft202012Validator(schema),
    "partial": Draft202012Validator(partial),
    "step": Draft202012Validator(part("step")),
    "load": Draft202012Validator(part("load")),
}
load_formats = [next(iter(option["required"][-1:])) for option in schema["$defs"]["load"]["oneOf"]]
problems = []


def check(kind, document, where):
    errors = sorted(validators[kind].iter_errors(document), key=lambda e: list(e.path))
    for error in errors[:3]:
        path = "/".join(str(p) for p in error.path) or "(top)"
        problems.append(f"{where}: {path}: {error.message[:300]}")
    return not errors


def example(document, where):
    """A README example: a whole pipeline, a part of one, a list of steps or a load's format."""
    if isinstance(document, list):
        return all(check("step", item, f"{where} step {i}") for i, item in enumerate(document))
    if isinstance(document, dict):
        if "version" in document:
            return check("pipeline", document, where)
        if set(document) <= set(schema["properties"]):
            return check("partial", document, where)
        if set(document) == {"steps"}:
            return example(document["steps"], where)
        if len(document) == 1 and next(iter(document)) in load_formats:
            return check("load", {"input": "x", **document}, where)
    problems.append(f"{where}: an example this script does not know how to check; teach it")
    return False


pipelines = sorted(glob.glob(os.path.join(root, "pipelines", "*.yml")))
for path in pipelines:
    with open(path) as f:
        check("pipeline", yaml.load(f, Loader=TextDates), os.path.relpath(path, root))

with open(os.path.join(root, "README.md")) as f:
    readme = f.read()
blocks = [(readme.count("\n", 0, m.start()) + 2, m.group(1)) for m in re.finditer(r"```yaml\n(.*?)```", readme, re.S)]
for line, text in blocks:
    example(yaml.load(text, Loader=TextDates), f"README.md:{line}")

# Files the tool refuses must be refused here too.
good = yaml.load(open(pipelines[0]), Loader=TextDates)
refused = {
    "an unknown top-level key": {**good, "extrakt": {}},
    "an unknown load format key": {**good, "load": {"x": {"input": "a", "csv": {"path": "p", "delimeter": ";"}}}},
    "a page size out of range": {**good, "extract": {"x": {"connection": "c", "resource": "orders", "page_size": 5000}}},
    "an unknown step": {**good, "transform": {"t": {"input": "a", "steps": [{"explod": {"path": "Items"}}]}}},
}
for what, document in refused.items():
    if not list(validators["pipeline"].iter_errors(document)):
        problems.append(f"the schema accepts {what}")

for problem in problems:
    print(problem)
if problems:
    sys.exit(1)
print(f"ok: {len(pipelines)} pipelines and {len(blocks)} README examples match the schema (jsonschema {metadata.version('jsonschema')}); {len(refused)} bad files refused")
