#!/bin/bash
# Compares benchmarks of the working tree with a baseline commit, in one
# run on this machine (machines differ from one session to the next, so a
# figure means most beside its peer): the baseline's binaries are built in
# a git worktree and run by this tree's harness (OVSNET_BINS), alternating
# with this tree's own, ROUNDS times; then the medians and their ratios.
#
#   test/bench/compare.sh [BASE] [ROUNDS] [BENCH_REGEXP]
#   defaults: a070141 5 '^Benchmark(EndpointReady|NetworkCreate)$'
set -euo pipefail
cd "$(dirname "$0")/../.."
base=${1:-a070141}
rounds=${2:-5}
bench=${3:-'^Benchmark(EndpointReady|NetworkCreate)$'}
export PATH="$PATH:/usr/local/go/bin" GOFLAGS="${GOFLAGS:-} -buildvcs=false"

work=$(mktemp -d /tmp/ovsnet-compare-XXXX)
trap 'git worktree remove --force "$work/tree" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
git worktree add --detach "$work/tree" "$base" >/dev/null
(cd "$work/tree" && go build -o "$work/base-bin/" ./cmd/...)
go build -o "$work/head-bin/" ./cmd/...
echo "baseline $(git -C "$work/tree" rev-parse --short HEAD), head $(git rev-parse --short HEAD) (+ working tree); $rounds rounds of $bench"

for r in $(seq "$rounds"); do
	for side in base head; do
		echo "== round $r: $side"
		OVSNET_BINS="$work/$side-bin" go test -tags e2e -count=1 -run '^$' -bench "$bench" -benchtime 1x -timeout 60m ./test/bench/ 2>&1 |
			tee -a "$work/$side.log" | grep -E 'BENCHRESULT|FAIL|panic' || true
	done
done

# BENCHRESULT name key=value ... → median per (name, hosts, key) per side.
summarize() {
	grep -h 'BENCHRESULT' "$work/$1.log" | sed 's/.*BENCHRESULT //' | awk -v side="$1" '
	{ name=$1; group=name; for (i=2;i<=NF;i++) { split($i,kv,"="); if (kv[1]=="hosts") group=name" hosts="kv[2] }
	  for (i=2;i<=NF;i++) { split($i,kv,"="); if (kv[1]!="hosts") print side"\t"group"\t"kv[1]"\t"kv[2] } }'
}
{ summarize base; summarize head; } | sort -t$'\t' -k2,2 -k3,3 -k1,1 | awk -F'\t' '
function med(arr, n,   i, j, t) { for (i=1;i<=n;i++) for (j=i+1;j<=n;j++) if (arr[j]<arr[i]) { t=arr[i]; arr[i]=arr[j]; arr[j]=t }
	return (n%2) ? arr[(n+1)/2] : (arr[n/2]+arr[n/2+1])/2 }
{ key=$2"\t"$3; v[key,$1,++n[key,$1]]=$4; keys[key]=1 }
END { printf "%-32s %-16s %12s %12s %8s\n", "benchmark", "figure", "baseline", "head", "ratio"
	for (k in keys) { split(k, p, "\t"); nb=n[k,"base"]; nh=n[k,"head"]
		for (i=1;i<=nb;i++) b[i]=v[k,"base",i]; for (i=1;i<=nh;i++) h[i]=v[k,"head",i]
		mb = nb ? med(b, nb) : 0; mh = nh ? med(h, nh) : 0
		printf "%-32s %-16s %12.1f %12.1f %8s\n", p[1], p[2], mb, mh, (mb>0 ? sprintf("%.2f", mh/mb) : "-") } }' | sort
echo "logs: $work/{base,head}.log (removed on exit; copy them first to keep them)"
