#!/usr/bin/env bash
# Mutation testing of one or more packages with gremlins (github.com/go-gremlins/gremlins).
#
#   tools/mutate.sh libs/config libs/perfcore/pool      (or: task mutate -- libs/config …)
#
# gremlins copies the package's module into a temporary directory and runs its tests there once
# per mutant. Our modules point at each other with `replace ../x` and live in a go.work
# workspace, neither of which resolves from that copy. So the tree is first copied (tracked and
# untracked, not ignored, files), the module's replace paths are made absolute in the copy, the
# workspace is off (GOWORK=off: each go.mod is complete on its own), and gremlins' temporary
# directory is placed inside the copy at the module's depth, so tests that read ../../docs still
# find it. The tree itself is never modified. A module one level deep (bench, migrations, ops,
# tools) gets no such placement: its tests that read files above the module fail there.
#
# Bounded for a small machine: one mutant at a time (--workers 1), tests in -short mode, and a
# mutant whose tests run past TIMEOUT_COEFFICIENT times the unmutated run is reported TIMED OUT.
# Environment: GREMLINS_VERSION, TIMEOUT_COEFFICIENT (default 3), WORKERS (default 1),
# MUTATE_OUT (directory for each package's full report, default ./var/mutate), GREMLINS_FLAGS
# (more flags for `gremlins unleash`, split on spaces: "--dry-run" to list the mutants without
# testing them, "--exclude-files openapi.go" to leave a file out).
set -euo pipefail

GREMLINS_VERSION=${GREMLINS_VERSION:-v0.6.0}
TIMEOUT_COEFFICIENT=${TIMEOUT_COEFFICIENT:-3}
WORKERS=${WORKERS:-1}

root=$(git rev-parse --show-toplevel)
out=${MUTATE_OUT:-$root/var/mutate}
mkdir -p "$out"

if [ $# -eq 0 ]; then
	echo "usage: $0 PKG_DIR... (for example libs/config libs/perfcore/pool)" >&2
	exit 2
fi

gremlins=$(command -v gremlins || true)
if [ -z "$gremlins" ]; then
	GOWORK=off go install "github.com/go-gremlins/gremlins/cmd/gremlins@$GREMLINS_VERSION"
	gremlins="$(go env GOPATH)/bin/gremlins"
fi

summary=()
for pkg in "$@"; do
	pkg=${pkg#./}
	pkg=${pkg%/}
	[ -d "$root/$pkg" ] || { echo "mutate: no such package directory: $pkg" >&2; exit 2; }
	mod=$pkg
	while [ ! -f "$root/$mod/go.mod" ]; do
		[ "$mod" != . ] || { echo "mutate: $pkg is in no module" >&2; exit 2; }
		mod=$(dirname "$mod")
	done
	rel=${pkg#"$mod"}
	rel=${rel#/}

	# A copy of the whole tree (tests read files such as ../../docs/configuration.md), with this
	# module's replace paths made absolute: `=> ../x` becomes `=> /copy/mod/../x`.
	tree=$(mktemp -d "${TMPDIR:-/tmp}/mutate-XXXXXX")
	trap 'rm -rf "$tree"' EXIT
	(cd "$root" && git ls-files -co --exclude-standard -z | xargs -0 cp --parents -t "$tree")
	work=$tree/$mod
	sed -E -i "s#=> (\.\.?/[^ ]*)#=> $work/\1#" "$work/go.mod"
	# gremlins copies the module to $TMPDIR/gremlins-*/wd-*, two levels below TMPDIR: for a
	# module two or more levels deep, a TMPDIR inside the copy puts that at the module's own
	# depth, so its relative paths into the tree still resolve.
	gtmp=$tree
	depth=$(echo "$mod" | awk -F/ '{print NF}')
	if [ "$depth" -gt 2 ]; then
		gtmp=$tree/$(echo "$mod" | cut -d/ -f1-$((depth - 2)))
	fi

	name=$(echo "$pkg" | tr / _)
	echo "== $pkg (module $mod): gremlins $GREMLINS_VERSION, --workers $WORKERS, --timeout-coefficient $TIMEOUT_COEFFICIENT, go test -short"
	(
		cd "$work"
		TMPDIR=$gtmp GOWORK=off GOFLAGS="-short ${GOFLAGS:-}" "$gremlins" unleash \
			--workers "$WORKERS" --timeout-coefficient "$TIMEOUT_COEFFICIENT" \
			--output "$out/$name.json" ${GREMLINS_FLAGS:-} "./${rel:-.}"
	) 2>&1 | tee "$out/$name.txt"
	eff=$(grep -E "Test efficacy" "$out/$name.txt" | tail -1 | sed -E 's/.*: *//')
	counts=$(grep -E "^(Killed|Lived|Timed out|Not covered|Not viable|Skipped)" "$out/$name.txt" | tr -s ' ' | paste -sd ' ' -)
	summary+=("$pkg: efficacy ${eff:-?} ($counts)")
	rm -rf "$tree"
	trap - EXIT
done

echo
echo "== mutation efficacy (killed / (killed + lived)); survivors: grep LIVED $out/*.txt"
printf '%s\n' "${summary[@]}"
