"""schemathesis's command line, with one CPython bug stepped around.

CPython 3.11 before 3.11.8 (gh-106905) can raise `SystemError: AST constructor recursion depth
mismatch` from `ast.parse` when it is called deep in a stack. Hypothesis calls `ast.parse` only to
describe a lambda in a strategy's repr, which schemathesis builds while it generates coverage
cases; the error then ends that operation with a runtime error (seen in CI on GET
/v1/datasets/{id}, not reproducible at will). A description is cosmetic, so a failed one becomes a
placeholder; every generated case and every check stay as they were.
"""

import sys

from hypothesis.internal import lambda_sources

_describe = lambda_sources.lambda_description


def _lambda_description(f):
    try:
        return _describe(f)
    except SystemError:
        return "lambda: <source not described>"


lambda_sources.lambda_description = _lambda_description

from schemathesis.cli import schemathesis  # noqa: E402  (after the patch, on purpose)

if __name__ == "__main__":
    sys.argv[0] = "st"
    sys.exit(schemathesis())
