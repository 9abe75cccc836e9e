#!/usr/bin/env bash
# The code at HEAD, by `git archive`, extracted into OUT_DIR for ./build to merge into
# deploy.zip from its allow-list (the deployment notes' zip.sh, kept as the code step).
#
#   zip.sh OUT_DIR [REVISION]      (REVISION defaults to HEAD)
#
# Only committed code is built: uncommitted changes are reported and left out.
set -euo pipefail

out=${1:?usage: zip.sh OUT_DIR [REVISION]}
revision=${2:-HEAD}
root=$(git rev-parse --show-toplevel)

if [ -n "$(git -C "$root" status --porcelain --untracked-files=no)" ]; then
    echo "zip.sh: warning: the working tree has uncommitted changes; building $revision" \
        "($(git -C "$root" rev-parse --short "$revision")) without them" >&2
fi
rm -rf "$out"
mkdir -p "$out"
git -C "$root" archive --format=tar "$revision" | tar -x -C "$out"
echo "zip.sh: code of $(git -C "$root" rev-parse --short "$revision") in $out" >&2
