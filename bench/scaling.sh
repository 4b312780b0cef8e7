#!/usr/bin/env bash
# Runs the perfcore pool benchmarks at GOMAXPROCS 1, 2, 8 and 16 and writes
# the results (with go version and machine) to the file given as $1.
# Usage: bench/scaling.sh results.txt   (from the repository root or bench/)
set -euo pipefail
out=${1:?usage: $0 OUTPUT_FILE}
cd "$(dirname "$0")"
{
	echo "# perfcore pool scaling — $(date -u +%Y-%m-%dT%H:%MZ)"
	go version
	echo "cpus: $(nproc)  $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- || true)"
	# CPU task: the issue's 1e6 tasks per run.
	go test -run '^$' -bench 'BenchmarkCPUTask' -benchtime=1000000x -count=3 -cpu 1,2,8,16 -benchmem .
	# I/O task: 10k tasks, limit 1000.
	go test -run '^$' -bench 'BenchmarkIOTask' -benchtime=10000x -count=3 -cpu 1,2,8,16 -benchmem .
	go test -run '^$' -bench 'BenchmarkDeepStack' -benchtime=200000x -count=3 -cpu 1,2,8,16 -benchmem .
	go test -run '^$' -bench 'BenchmarkPriority' -benchtime=200x -count=3 -cpu 2,8,16 .
} 2>&1 | tee "$out"
