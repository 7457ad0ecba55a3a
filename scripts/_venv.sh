# Sourced by scripts/demo and scripts/test: make ./.venv (Python 3.11), install a requirements
# file into it and this project in editable mode (the `bigd` command), skipping the install
# when neither the requirements nor pyproject.toml changed since last time.
# Installs with uv (from PyPI, pinned below: ~10x faster than pip on a fresh machine); falls
# back to pip when uv cannot be had.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

requirements=$1
uv_version=0.13.8
python=${PYTHON:-$(command -v python3.11 || command -v python3 || true)}
if [ -z "$python" ] || ! "$python" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
  echo "Big D needs Python 3.11 (set PYTHON=/path/to/python3.11)." >&2
  exit 1
fi
[ -x .venv/bin/python ] || "$python" -m venv .venv
stamp=.venv/.installed-$(basename "$requirements")
wanted=$(cat requirements*.txt pyproject.toml scripts/_venv.sh | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  echo "Installing $requirements into .venv..." >&2
  started=$SECONDS
  if .venv/bin/python -m uv --version >/dev/null 2>&1 \
    || .venv/bin/python -m pip install --quiet --disable-pip-version-check "uv==$uv_version"; then
    # --compile-bytecode: pip compiles at install too; without it every command compiles
    # Prefect & co. from source at start-up when PYTHONDONTWRITEBYTECODE is set.
    uv=(.venv/bin/python -m uv pip install --quiet --python .venv/bin/python --compile-bytecode)
    "${uv[@]}" -r "$requirements" --override requirements-overrides.txt
    "${uv[@]}" --no-deps -e .
  else
    echo "uv unavailable: installing with pip (a few minutes)..." >&2
    # pip has no overrides: install the rest, then the overridden pins over them (pip
    # warns about cidade-ibge-tom's stray mypy pin; see requirements-overrides.txt).
    filtered=.requirements-without-overrides.txt  # beside requirements.txt, which it includes
    grep -v '^mypy==' "$requirements" > "$filtered"
    .venv/bin/python -m pip install --quiet -r "$filtered"; rm -f "$filtered"
    if grep -q '^mypy==' "$requirements"; then
      .venv/bin/python -m pip install --quiet --no-deps -r requirements-overrides.txt
    fi
    .venv/bin/python -m pip install --quiet --no-deps -e .
  fi
  echo "$wanted" > "$stamp"
  echo "Installed in $((SECONDS - started)) s." >&2
fi
export PATH="$PWD/.venv/bin:$PATH"
