#!/usr/bin/env bash
# scripts/bench-core.sh: the benchmarks behind the README's vtask and pool
# figures, six counts each, summarised with benchstat (installed on demand):
# BenchmarkRoundTrip, each row's median as a ratio to floor-worker's, and
# BenchmarkSync, each row's median as a ratio to plain's, from the same run;
# and the bench module's BenchmarkFanOut of floor and vtask-Completion (the
# fan-out row of "go run ./cmd/zerogc bench"), vtask-Completion's median as
# a ratio to the floor's, from one run of the two.
# Usage: scripts/bench-core.sh [count]   (default 6)
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-6}
export PATH="$(go env GOPATH)/bin:$PATH"
if ! command -v benchstat >/dev/null 2>&1; then
	go install golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da
fi
out=$(mktemp -d)
echo "# $(date -u +%Y-%m-%d), $(go version), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
go test -run='^$' -bench='RoundTrip|Sync' -benchmem -count="$count" ./vtask | tee "$out/vtask.txt" >/dev/null
go test -run='^$' -bench=GetPut -benchmem -count="$count" ./pool | tee "$out/pool.txt" >/dev/null
(cd bench && go test -run='^$' -bench='FanOut/(floor|vtask-Completion)$' -benchmem -count="$count" .) | tee "$out/fanout.txt" >/dev/null
benchstat "$out/vtask.txt"
echo
# ratios prefix base [file]: the median ns/op of each row of Benchmark<prefix> (in
# file, default the vtask run) as a
# ratio to the median of its row base.
ratios() {
	awk -v prefix="Benchmark$1/" -v base="$2" 'index($1, prefix) == 1 {
	name = substr($1, length(prefix) + 1); sub(/-[0-9]+$/, "", name)
	v[name] = v[name] " " $3
}
END {
	for (n in v) {
		k = split(substr(v[n], 2), a, " ")
		for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
		med[n] = (k % 2) ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
	}
	for (n in med) printf "  %-18s %8.1f ns  %5.2fx\n", n, med[n], med[n] / med[base]
}' "${3:-$out/vtask.txt}" | sort -k2 -n
}
echo "median ns/op as a ratio to floor-worker (same run):"
ratios RoundTrip floor-worker
echo
echo "median ns/op as a ratio to plain (same run):"
ratios Sync plain
echo
echo "fan-out (bench module), median ns/op as a ratio to floor (same run):"
ratios FanOut floor "$out/fanout.txt"
echo
benchstat "$out/pool.txt"
