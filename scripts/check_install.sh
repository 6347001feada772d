#!/usr/bin/env bash
# Prove that `pip install maskwatch` (the core, no extras) works where users run it:
#   1. install the core into a clean venv for every CPython on this machine (3.11; 3.12 when present)
#      and detect faces on one real photo with it; TensorFlow must not come along;
#   2. resolve the dependencies, wheels only, for each supported Python x platform (3.11/3.12 on
#      Linux x86-64 and ARM, macOS arm64, Windows; [train] included), so an interpreter this machine
#      lacks still has its install checked against the package index.
# Uses uv (from the [dev] extra): a clean install from its cache takes seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
uv=${UV:-.venv/bin/uv}
shared=${MASKWATCH_SHARED:-$(cd .. && pwd)/shared}
photos=("$shared"/data/voc3/images/*.jpg)
photo=${photos[0]}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

find_python() {  # a working CPython $1 (pyenv's, or on PATH), else nothing
  if command -v pyenv >/dev/null; then
    local version
    version=$(pyenv versions --bare 2>/dev/null | grep -E "^$1\.[0-9]+$" | tail -n 1 || true)
    if [ -n "$version" ] && [ -x "$(pyenv root)/versions/$version/bin/python$1" ]; then
      echo "$(pyenv root)/versions/$version/bin/python$1"
      return
    fi
  fi
  if python"$1" -c "" 2>/dev/null; then command -v python"$1"; fi
}

installed=0
for version in 3.11 3.12; do
  python=$(find_python "$version")
  [ -n "$python" ] || { echo "check_install: no Python $version on this machine (resolution check below)"; continue; }
  venv="$work/$version"
  "$uv" venv -q --python "$python" "$venv"
  "$uv" pip install -q --python "$venv/bin/python" .
  MASKWATCH_HOME=${MASKWATCH_HOME:-$shared/weights} "$venv/bin/python" - "$photo" <<'PY'
import importlib.util, sys
import maskwatch
assert importlib.util.find_spec("tensorflow") is None, "the core install pulled in TensorFlow"
if sys.version_info >= (3, 12):  # no yuface wheel there: the marker must leave it out, YuNet detects
    assert importlib.util.find_spec("yuface") is None, "yuface was installed on Python 3.12"
results = list(maskwatch.detect(sys.argv[1], verbose=False))
faces = sum(len(r["detections"]) for r in results)
assert faces > 0, f"no face found in {sys.argv[1]}"
print(f"check_install: core install on Python {sys.version.split()[0]}: {faces} face(s) in {sys.argv[1]}")
PY
  installed=$((installed + 1))
done
[ "$installed" -gt 0 ] || { echo "check_install: no CPython 3.11/3.12 found" >&2; exit 1; }

for target in "3.11 x86_64-unknown-linux-gnu" "3.12 x86_64-unknown-linux-gnu" "3.12 aarch64-unknown-linux-gnu" \
              "3.12 aarch64-apple-darwin" "3.12 x86_64-pc-windows-msvc"; do
  set -- $target
  for extras in "" "--extra train --extra serve"; do
    # shellcheck disable=SC2086
    "$uv" pip compile -q --no-build --python-version "$1" --python-platform "$2" $extras pyproject.toml \
      -o "$work/lock.txt" || { echo "check_install: cannot install on Python $1 $2 ${extras:-core}" >&2; exit 1; }
  done
  echo "check_install: resolves with wheels only on Python $1 $2 (core and [train,serve])"
done
