#!/usr/bin/env bash
# Idempotent set-up on a fresh machine: the pinned Python environment in .venv/,
# newman (node_modules/) for the Postman collection and Debian's Chromium for HTML checks.
set -euo pipefail
cd "$(dirname "$0")/.."

stamp=.venv/.bootstrap-stamp
want=$(cat pyproject.toml constraints.txt package.json 2>/dev/null | sha256sum | cut -d' ' -f1)
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "bootstrap: creating .venv with the pinned dependency set" >&2
    python3 -m venv .venv
    .venv/bin/pip install -q --upgrade pip >/dev/null
    .venv/bin/pip install -q -c constraints.txt -e '.[dev]' --config-settings editable_mode=compat
    if [ -f package.json ] && command -v npm >/dev/null; then
        npm ci --silent --no-audit --no-fund >/dev/null 2>&1 || npm install --silent --no-audit --no-fund
    fi
    echo "$want" > "$stamp"
fi

# aws-sam-cli pins its own (older) boto3, so it gets its own venv; used by the template tests
# for `sam validate --lint` (offline).
sam_want=$(sha256sum deploy/requirements-sam.txt | cut -d' ' -f1)
if [ "${BEM_SKIP_SAM:-}" != "1" ] && { [ ! -x .venv-sam/bin/sam ] \
    || [ "$(cat .venv-sam/.bootstrap-stamp 2>/dev/null)" != "$sam_want" ]; }; then
    echo "bootstrap: creating .venv-sam with the pinned aws-sam-cli" >&2
    python3 -m venv .venv-sam
    .venv-sam/bin/pip install -q --upgrade pip >/dev/null
    .venv-sam/bin/pip install -q -r deploy/requirements-sam.txt
    echo "$sam_want" > .venv-sam/.bootstrap-stamp
fi

if [ "${BEM_SKIP_CHROMIUM:-}" != "1" ] && ! command -v chromium >/dev/null; then
    echo "bootstrap: installing Debian's chromium for the HTML report tests" >&2
    if [ "$(id -u)" = 0 ]; then
        (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
            || echo "bootstrap: chromium could not be installed" >&2
    fi
fi

# The compiled trees for arm64: Debian's cross compiler, and qemu-user to prove them here.
if [ "${BEM_SKIP_ARM64:-}" != "1" ] && { ! command -v aarch64-linux-gnu-gcc >/dev/null || ! command -v qemu-aarch64 >/dev/null; }; then
    echo "bootstrap: installing gcc-aarch64-linux-gnu and qemu-user for the arm64 compiled trees" >&2
    if [ "$(id -u)" = 0 ]; then
        (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
            gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user >/dev/null) \
            || echo "bootstrap: the arm64 tool chain could not be installed" >&2
    fi
fi

# pyspark (bem batch, installed with the venv above) needs a Java 17 runtime.
if ! command -v java >/dev/null; then
    echo "bootstrap: installing Debian's openjdk-17-jre-headless for the Spark batch tests" >&2
    if [ "$(id -u)" = 0 ]; then
        (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null) \
            || echo "bootstrap: java could not be installed" >&2
    fi
fi
