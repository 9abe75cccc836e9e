#!/usr/bin/env bash
# Runtime dependencies for the target Lambda platform, without Docker, then trimmed.
#
#   build_and_trim_weight.sh --python-version 3.12 --platform manylinux2014_x86_64 \
#       [--platform manylinux_2_28_x86_64 ...] --requirements reqs.txt --out DIR \
#       [--wheelhouse DIR] [-- TRIM_ARGS...]
#
# 1. Wheels for the target (pip --platform/--python-version/--implementation cp,
#    --only-binary=:all:) are downloaded once into a wheelhouse under ~/.cache/bem; a stamp
#    keyed by the requirements and tags makes warm rebuilds offline and fast.
# 2. pip installs them from that wheelhouse only (--no-index) into DIR, without bytecode.
# 3. python -m bem.packaging.trim DIR TRIM_ARGS... trims (import trace, tests, headers, docs,
#    dist-info, stripping outside *.libs) and compiles bytecode with the target interpreter.
# ./build calls this with every argument filled in.
set -euo pipefail

python_version=3.12
platforms=()
requirements=""
out=""
wheelhouse=""
trim_args=()
PYTHON=${BEM_BUILD_PYTHON:-python3}

while [ $# -gt 0 ]; do
    case "$1" in
        --python-version) python_version=$2; shift 2 ;;
        --platform) platforms+=("$2"); shift 2 ;;
        --requirements) requirements=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        --wheelhouse) wheelhouse=$2; shift 2 ;;
        --) shift; trim_args=("$@"); break ;;
        *) echo "build_and_trim_weight.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
if [ -z "$requirements" ] || [ -z "$out" ] || [ ${#platforms[@]} -eq 0 ]; then
    echo "build_and_trim_weight.sh: --requirements, --out and --platform are required" >&2
    exit 2
fi
cache=${BEM_BUILD_CACHE:-$HOME/.cache/bem}
if [ -z "$wheelhouse" ]; then
    wheelhouse="$cache/wheels/cp${python_version/./}-${platforms[0]}"
fi

platform_args=()
for tag in "${platforms[@]}"; do platform_args+=(--platform "$tag"); done
target_args=(--only-binary=:all: --implementation cp --python-version "$python_version"
    "${platform_args[@]}")

mkdir -p "$wheelhouse"
want=$( (cat "$requirements"; echo "$python_version ${platforms[*]}") | sha256sum | cut -d' ' -f1)
stamp="$wheelhouse/.stamp-$want"
if [ ! -f "$stamp" ]; then
    echo "deps: downloading wheels for cp${python_version} ${platforms[*]}" >&2
    "$PYTHON" -m pip download --quiet --disable-pip-version-check \
        --cache-dir "$cache/pip" --dest "$wheelhouse" "${target_args[@]}" \
        -r "$requirements" 2> >(grep -v '^WARNING: Location' >&2)
    touch "$stamp"
fi

rm -rf "$out"
mkdir -p "$out"
"$PYTHON" -m pip install --quiet --disable-pip-version-check --no-index \
    --find-links "$wheelhouse" --target "$out" --no-compile --no-warn-conflicts \
    "${target_args[@]}" \
    -r "$requirements" 2> >(grep -v '^WARNING: Location' >&2)

if [ ${#trim_args[@]} -gt 0 ]; then
    "$PYTHON" -m bem.packaging.trim "$out" "${trim_args[@]}"
fi
