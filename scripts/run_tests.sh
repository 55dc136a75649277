#!/usr/bin/env bash
# Runs every test (GoogleTest and lit), installing what is missing first.
#   bash scripts/run_tests.sh
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || exit 1

bazel test //... "$@"
status=$?

# One closing line with the number of test cases, read from the JUnit XML
# files Bazel leaves per test target (GoogleTest writes one case per TEST).
python3 - <<'PY'
import glob, xml.etree.ElementTree as ET
passed = failed = skipped = 0
for path in glob.glob("bazel-testlogs/**/test.xml", recursive=True):
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError:
        failed += 1
        continue
    for case in root.iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            failed += 1
        elif case.find("skipped") is not None or case.get("status") == "notrun":
            skipped += 1
        else:
            passed += 1
print(f"tests: {passed} passed, {failed} failed" +
      (f", {skipped} skipped" if skipped else ""))
PY
exit $status
