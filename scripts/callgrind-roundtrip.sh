#!/usr/bin/env bash
# scripts/callgrind-roundtrip.sh: instructions per round trip of vtask-await
# and floor-worker (BenchmarkRoundTrip in ./vtask), counted by valgrind's
# callgrind on one P. Instruction counts, unlike times, repeat from run to
# run. Each figure is the difference between a run of 200,000 and one of
# 100,000 operations, divided by 100,000, so start-up costs cancel out.
# Needs valgrind (Debian: apt-get install valgrind).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(mktemp -d)/vtask.test
go test -c -o "$bin" ./vtask
count() { # benchmark, iterations
	GODEBUG=asyncpreemptoff=1 GOMAXPROCS=1 valgrind --tool=callgrind --callgrind-out-file=/dev/null \
		"$bin" -test.run='^$' -test.timeout=0 -test.bench="$1" -test.benchtime="$2x" 2>&1 |
		awk '/I *refs:/ { gsub(",", "", $NF); print $NF }'
}
for b in 'RoundTrip/floor-worker$' 'RoundTrip/vtask-await$'; do
	lo=$(count "$b" 100000)
	hi=$(count "$b" 200000)
	printf '%-28s %d instructions per op\n' "$b" $(( (hi - lo) / 100000 ))
done
