#!/usr/bin/env bash
# Checks that the front-end libraries committed in src/causerie/web/static/vendor/ are
# byte-identical to the packages pinned by src/causerie/web/package-lock.json.
# `npm ci --ignore-scripts` installs the lockfile into a temporary folder (the source tree
# is never touched), then each line of vendor.txt is compared with `cmp`.
#   scripts/check-vendor.sh            check (exit 1 on any difference)
#   scripts/check-vendor.sh --update   copy the installed files into static/vendor/
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
WEB="$ROOT/src/causerie/web"
VENDOR="$WEB/static/vendor"
MODE="${1:-check}"

command -v npm >/dev/null || { echo "check-vendor: npm is not installed" >&2; exit 2; }

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
cp "$WEB/package.json" "$WEB/package-lock.json" "$WORK/"
(cd "$WORK" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)

status=0
while read -r source target; do
    case "$source" in ''|'#'*) continue ;; esac
    installed="$WORK/node_modules/$source"
    if [ ! -f "$installed" ]; then
        echo "check-vendor: $source is not in the installed packages" >&2
        status=1
    elif [ "$MODE" = "--update" ]; then
        mkdir -p "$VENDOR"
        cp "$installed" "$VENDOR/$target"
    elif ! cmp -s "$installed" "$VENDOR/$target"; then
        echo "check-vendor: static/vendor/$target differs from node_modules/$source" >&2
        status=1
    fi
done < "$WEB/vendor.txt"

# nothing unlisted may hide in vendor/
for file in "$VENDOR"/*; do
    name="$(basename "$file")"
    if ! awk '!/^#/ && NF == 2 {print $2}' "$WEB/vendor.txt" | grep -qxF "$name"; then
        echo "check-vendor: static/vendor/$name is not listed in vendor.txt" >&2
        status=1
    fi
done

if [ "$status" -eq 0 ] && [ "$MODE" != "--update" ]; then
    echo "check-vendor: static/vendor/ matches package-lock.json"
fi
exit "$status"
