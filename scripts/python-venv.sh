#!/usr/bin/env bash
# Creates .infra/venv with pyarrow from PyPI: the independent Arrow reader the tests use to check
# that the files Polaroid writes are readable by a stock implementation. Safe to run again.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.infra/venv"
python="${PYTHON:-python3}"
pyarrow_version="${PYARROW_VERSION:-21.0.0}"

if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "import pyarrow, sys; sys.exit(pyarrow.__version__ != '$pyarrow_version')" 2>/dev/null; then
  echo "python venv ready: $venv (pyarrow $pyarrow_version)"
  exit 0
fi

mkdir -p "$root/.infra"
if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "pyarrow==$pyarrow_version"
"$venv/bin/python" -c "import pyarrow; print('python venv ready: $venv (pyarrow ' + pyarrow.__version__ + ')')"
