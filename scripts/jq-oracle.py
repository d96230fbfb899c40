"""Fills in jq 1.8.2's answers for the cases of src/json/testdata/jq-1.8.2.json.

The Rust tests (src/json/value/tests.rs, src/json/fast.rs) check offloop against these answers.
Run it after adding cases, with PyPI's `jq` module (jq 1.8.2 built in) in a virtual environment:

    python3 -m venv /tmp/jqvenv && /tmp/jqvenv/bin/pip install jq==1.13.0
    /tmp/jqvenv/bin/python scripts/jq-oracle.py src/json/testdata/jq-1.8.2.json

Each answer is the list of outputs, each as "O" and its JSON text (jq's `tojson`, which is also
how jq prints it), ended by "E" and the error's message when the program fails (a string's text,
another value's JSON): what `try (P | tojson | "O" + .) catch ...` yields.
"""

import json
import sys

import jq

WRAP = 'try (({p}) | tojson | "O" + .) catch ("E" + (if type == "string" then . else tojson end))'


def answer(program, text, variables=None):
    return jq.compile(WRAP.format(p=program), args=variables).input_text(text).all()


def main(path):
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    assert jq.compile("have_decnum").input_text("null").first() is True, "not jq 1.8 with decNumber"
    failed = []
    for case in data["values"]:
        try:
            case["answer"] = answer(case["program"], case["input"])
        except ValueError as e:
            failed.append(f"{case['program']}: {e}")
    if failed:
        sys.exit("cases jq 1.8.2 does not compile:\n" + "\n".join(failed))
    fast = data["fast"]
    for case in fast["programs"]:
        case["answers"] = [answer(case["program"], record, fast["vars"]) for record in fast["records"]]
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main(sys.argv[1])
