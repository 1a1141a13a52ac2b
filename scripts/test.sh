#!/usr/bin/env bash
# scripts/test.sh: the project's test command. It runs every test twice:
# under the race detector, and without it, where the allocation tests
# (built with //go:build !race) assert exact allocation counts.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "--- go test -race ./..."
go test -race -timeout 20m ./...
echo "--- go test ./... (allocation tests)"
go test -timeout 20m ./...
