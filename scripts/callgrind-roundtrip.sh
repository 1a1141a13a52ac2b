#!/usr/bin/env bash
# scripts/callgrind-roundtrip.sh: instructions per operation of the vtask
# round trips against floor-worker (BenchmarkRoundTrip in ./vtask), and of the
# synchronous path against a plain function returning (T, error)
# (BenchmarkSync), counted by valgrind's callgrind on one P. Instruction
# counts, unlike times, repeat from run to run. Each figure is the difference
# between a run of 2n and one of n operations, divided by n, so start-up
# costs cancel out (n = 100,000 for a round trip, 2,000,000 for the
# synchronous rows, whose operations are a hundred times shorter).
# A regexp that starts with FanOut/ counts BenchmarkFanOut of the bench
# module instead (one op = a batch of 1,000 in flight, then WhenAll; n = 200),
# e.g. scripts/callgrind-roundtrip.sh 'FanOut/floor$' 'FanOut/vtask-Completion$'.
# Needs valgrind (Debian: apt-get install valgrind).
# Usage: scripts/callgrind-roundtrip.sh [benchmark-regexp ...]
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
bin=$tmp/vtask.test
go test -c -o "$bin" ./vtask
count() { # benchmark, iterations
	local b=$bin
	case $1 in
	FanOut/*)
		b=$tmp/bench.test
		[ -x "$b" ] || (cd bench && go test -c -o "$b" .)
		;;
	esac
	GODEBUG=asyncpreemptoff=1 GOMAXPROCS=1 valgrind --tool=callgrind --callgrind-out-file=/dev/null \
		"$b" -test.run='^$' -test.timeout=0 -test.bench="$1" -test.benchtime="$2x" 2>&1 |
		awk '/I *refs:/ { gsub(",", "", $NF); print $NF }'
}
if [ $# -eq 0 ]; then
	set -- 'RoundTrip/floor-worker$' 'RoundTrip/vtask-await$' 'RoundTrip/vtask-await-ctx$' \
		'RoundTrip/vtask-continue$' \
		'Sync/plain$' 'Sync/fromresult-await$' 'Sync/fromresult-result$' 'Sync/runwith-inline$' 'Sync/recover-floor$' \
		'FanOut/floor$' 'FanOut/vtask-Completion$'
fi
for b in "$@"; do
	case $b in
	Sync/*) n=2000000 ;;
	FanOut/*) n=200 ;;
	*) n=100000 ;;
	esac
	lo=$(count "$b" "$n")
	hi=$(count "$b" $((2 * n)))
	awk -v b="$b" -v lo="$lo" -v hi="$hi" -v n="$n" \
		'BEGIN { printf "%-28s %8.1f instructions per op\n", b, (hi - lo) / n }'
done
