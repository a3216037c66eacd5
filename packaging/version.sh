#!/bin/sh
# The version `make release` stamps into the binaries and packages: the tag at a tagged commit
# (v1.2.3), else what git describe says past the last tag (v1.2.3-4-g9a711b3c1d2e), else, with no
# tag at all, a Go-style v0.0.0-YYYYMMDDHHMMSS-REVISION; "-dirty" when the tree has local changes.
set -eu
cd "$(dirname "$0")/.."
if ! git rev-parse --git-dir >/dev/null 2>&1; then
	echo devel # a tarball: the build info says the rest
	exit 0
fi
if ! v=$(git describe --tags --match 'v[0-9]*' --abbrev=12 2>/dev/null); then
	v="v0.0.0-$(TZ=UTC git log -1 --format=%cd --date=format-local:%Y%m%d%H%M%S)-$(git rev-parse --short=12 HEAD)"
fi
git diff --quiet HEAD -- 2>/dev/null || v="$v-dirty"
echo "$v"
