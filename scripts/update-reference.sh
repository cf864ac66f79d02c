#!/usr/bin/env bash
# Regenerates what the option declarations produce: schema/pipeline.schema.json and the README's
# option reference (between its BEGIN/END markers). The tests fail until this has been run after
# a change to any stage kind's keys.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build --product commerce-etl >/dev/null
bin=$(swift build --show-bin-path)/commerce-etl
"$bin" schema > schema/pipeline.schema.json
"$bin" docs > .build/option-reference.md
python3 - <<'PY'
import re
readme = open("README.md").read()
docs = open(".build/option-reference.md").read()
begin = "<!-- BEGIN option reference: the output of `commerce-etl docs` -->\n"
end = "<!-- END option reference -->"
i, j = readme.index(begin) + len(begin), readme.index(end)
open("README.md", "w").write(readme[:i] + docs + readme[j:])
PY
echo "updated schema/pipeline.schema.json and the README's option reference"
