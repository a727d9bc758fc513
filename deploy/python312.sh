#!/usr/bin/env bash
# Prints the path of a python3.12 that runs (the Lambda runtime's version: sam build and the layer's bytecode need
# it), installing one when the machine has none: pyenv first, then the OS packages. Messages go to stderr.
set -euo pipefail
ok() { "$1" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' >/dev/null 2>&1; }
root="${PYENV_ROOT:-$HOME/.pyenv}"
candidates=(python3.12 /usr/bin/python3.12 /usr/local/bin/python3.12)
for d in $(ls -d "$root"/versions/3.12* 2>/dev/null | sort -V -r); do candidates+=("$d/bin/python3.12"); done
for p in "${candidates[@]}"; do
  if ok "$p"; then
    if [[ "$p" == */* ]]; then echo "$p"; else PYENV_VERSION="" command -v "$p"; fi
    exit 0
  fi
done
echo "no python3.12 on this machine: installing one" >&2
if command -v pyenv >/dev/null 2>&1; then
  if pyenv install -s 3.12 >&2; then
    p="$(pyenv root)/versions/$(pyenv latest 3.12)/bin/python3.12"
    if ok "$p"; then echo "$p"; exit 0; fi
  fi
fi
if command -v apt-get >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  if { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq python3.12 python3.12-venv; } >&2; then
    if ok /usr/bin/python3.12; then echo /usr/bin/python3.12; exit 0; fi
  fi
fi
echo "python3.12 is not installed and could not be installed (pyenv install 3.12, or the OS's python3.12 package)" >&2
exit 1
