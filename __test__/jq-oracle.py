"""The jq 1.8.2 oracle of the JSON tests: runs a batch of jq programs in one process.

stdin: a JSON array of {"program": str, "input": str (JSON text, any number of values),
"vars": {name: value} (optional)}. stdout: a JSON array with, for each, one of
  {"compile": message}                  the program does not compile
  {"values": [json, ...]}               every output, as jq writes it (compact JSON text)
  {"values": [...], "error": json}      outputs before a runtime error, and the error's value
                                        (what `try ... catch .` sees) as JSON text
  {"input": message}                    jq does not accept the input text

It uses PyPI's `jq` module (jq.py), which has jq built in. jq.py turns outputs into Python values,
losing what jq 1.8 keeps of numbers (`1.000`, `100000000000000000001`, `-0`), so each output goes
through `tojson` inside jq and comes back as jq's own text. jq.py ignores `halt` and
`halt_error` (they end the run without an error there), so programs using them are not compared.
"""

import json
import sys
from importlib.metadata import version

import jq

# jq.py 1.12.0 and 1.13.0 build jq 1.8.2 (their PyPI description and the source path in the wheel
# say so); 1.11.0 builds jq 1.8.1.
PINNED = "1.13.0"


def run(case):
    program, text, variables = case["program"], case["input"], case.get("vars") or {}
    try:
        jq.compile(program, args=variables)
    except ValueError as e:
        return {"compile": str(e)}
    # In parentheses (`as` and `def` bodies reach to the end of the program); the newline ends a
    # trailing comment.
    wrapped = f"try (({program}\n) | tojson | {{v: .}}) catch {{e: tojson}}"
    values = []
    try:
        results = jq.compile(wrapped, args=variables).input_text(text).all()
    except ValueError as e:
        return {"input": str(e)}
    for result in results:
        if "e" in result:
            return {"values": values, "error": result["e"]}
        values.append(result["v"])
    return {"values": values}


def main():
    if version("jq") != PINNED:
        sys.exit(f"jq oracle: the jq module is {version('jq')}, the tests expect {PINNED} (jq 1.8.2)")
    json.dump([run(case) for case in json.load(sys.stdin)], sys.stdout)


main()
