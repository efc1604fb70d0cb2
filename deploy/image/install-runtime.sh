#!/bin/sh
# Lays out rtprof's runtime tree from its packed tarball: exactly what package.json "files" ships,
# plus the production dependencies at the lockfile's versions. The Dockerfile's build stage runs
# it, and test/package.test.ts runs it on a clean directory, so a file the agent needs at run time
# but the package leaves out fails the test rather than the image.
# Usage: install-runtime.sh TARBALL LOCKFILE DEST
set -eu
tarball=$1
lockfile=$2
dest=$3
mkdir -p "$dest"
tar -xzf "$tarball" -C "$dest" --strip-components=1
cp "$lockfile" "$dest/package-lock.json"
cd "$dest"
# --ignore-scripts: the package's "prepare" compiles TypeScript, which the tarball already ships
# compiled (and typescript is a devDependency); no production dependency has an install script.
npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error
