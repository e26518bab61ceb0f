#!/bin/sh
# Formatting (.clang-format) and banned functions, over every C file of the project.
set -eu
files=$(find src tests fuzz -name '*.[ch]' | sort)
[ -n "$files" ] || { echo "lint: no C files found" >&2; exit 1; }
# shellcheck disable=SC2086
clang-format --dry-run -Werror $files
# shellcheck disable=SC2086
if grep -nE '\b(strcpy|sprintf|vsprintf|strtok|atoi|gets)[[:space:]]*\(' $files; then
    echo "lint: banned function used (see above)" >&2
    exit 1
fi
echo "lint: $(echo "$files" | wc -l) files clean"
