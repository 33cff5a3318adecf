#!/usr/bin/env bash
# Peer inspection with the korup2p CLI, step by step: two daemons on loopback
# (no mDNS, fresh data directories), an open space both hold, writes made on each
# before they meet, a connection, and then what `peers`, `status` and
# `dag log --graph` show. Everything lives in one temporary directory, removed on
# exit, with the daemons stopped.
#
#   bash examples/inspect/walkthrough.sh
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/korup2p-inspect.XXXXXX")
bin="$tmp/korup2p"
pids=()

# stop PID: SIGTERM, then SIGKILL if it has not exited within 10 s.
stop() {
	local pid=$1 i
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -KILL "$pid" 2>/dev/null; then
		echo "daemon $pid did not stop within 10 s: killed" >&2
	fi
	wait "$pid" 2>/dev/null || true
}

stop_all() {
	local pid
	for pid in ${pids[@]+"${pids[@]}"}; do
		stop "$pid"
	done
	pids=()
}

cleanup() {
	stop_all
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The daemons and the commands see only what this script sets.
unset KORUP2P_DATA KORUP2P_API KORUP2P_SPACE KORUP2P_API_TOKEN
export KORUP2P_LOG=warn

# k DIR ARGS...: run the CLI against the daemon of DIR, quietly.
k() {
	local dir=$1
	shift
	"$bin" --data "$dir" "$@"
}

# show DIR ARGS...: echo the command (with $tmp for the temporary directory),
# then run it.
show() {
	local dir=$1
	shift
	printf '\n$ korup2p --data %s %s\n' "${dir/#"$tmp"/\$tmp}" "$*"
	k "$dir" "$@"
}

# start NAME: start a daemon on $tmp/NAME and wait (30 s at most) for its API.
start() {
	local dir="$tmp/$1" pid deadline=$((SECONDS + 30))
	"$bin" daemon --data "$dir" --api-listen 127.0.0.1:0 \
		--listen /ip4/127.0.0.1/tcp/0 --no-mdns >"$tmp/$1.log" 2>&1 &
	pid=$!
	pids+=("$pid")
	# Only once the daemon wrote DATA/api: a command run before would open the
	# store itself.
	until [[ -s "$dir/api" ]] && k "$dir" id >/dev/null 2>&1; do
		if ! kill -0 "$pid" 2>/dev/null; then
			echo "daemon $1 exited:" >&2
			cat "$tmp/$1.log" >&2
			return 1
		fi
		if ((SECONDS >= deadline)); then
			echo "daemon $1 not ready after 30 s:" >&2
			cat "$tmp/$1.log" >&2
			return 1
		fi
		sleep 0.1
	done
}

echo "# building the CLI"
(cd "$root" && go build -o "$bin" ./cmd/korup2p)

echo "# starting two daemons on 127.0.0.1, mDNS off"
start a
start b
# korup2p id prints the peer ID, then the addresses to connect to.
id_a=$(k "$tmp/a" id)
id_b=$(k "$tmp/b" id)
peer_a=${id_a%%$'\n'*}
peer_b=${id_b%%$'\n'*}
addr_a=$(sed -n 2p <<<"$id_a")
if [[ -z "$addr_a" ]]; then
	echo "daemon A has no address" >&2
	exit 1
fi
echo "peer A $peer_a"
echo "peer B $peer_b"

echo "# both open the space \"demo\"; each writes before they meet"
for d in a b; do
	k "$tmp/$d" space create demo --open >/dev/null
done
k "$tmp/a" --space demo put sensors/kitchen '{"temp":21.5}' >/dev/null
k "$tmp/b" --space demo put sensors/garage '{"temp":12.0}' >/dev/null

show "$tmp/b" connect "$addr_a"

# Wait (30 s at most) until both hold the same heads of demo.
deadline=$((SECONDS + 30))
while true; do
	ha=$(k "$tmp/a" --space demo dag heads)
	hb=$(k "$tmp/b" --space demo dag heads)
	[[ -n "$ha" && "$ha" == "$hb" ]] && break
	if ((SECONDS >= deadline)); then
		echo "the daemons did not sync within 30 s" >&2
		exit 1
	fi
	sleep 0.1
done
echo "# synced: both hold the same heads of demo"

# A write on top of both branches merges them.
k "$tmp/a" --space demo put sensors/kitchen '{"temp":22.0}' >/dev/null

show "$tmp/a" peers
show "$tmp/b" peers
show "$tmp/a" status
show "$tmp/a" --space demo ls
show "$tmp/a" --space demo dag log --graph

echo
echo "# stopping the daemons"
stop_all
echo "# done"
