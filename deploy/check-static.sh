#!/bin/sh
# Builds the release binary with the Swift runtime linked in and checks that it runs without the toolchain:
# ldd names no Swift library, and with the toolchain's directory hidden (a mount namespace, when this
# runs as root) and an empty environment, `abm serve` takes a lead, answers status and drains on SIGTERM.
# Prints the Debian packages the binary needs at run time. `make static-check` runs it; docs/operations.md.
set -eu
cd "$(dirname "$0")/.."
SWIFT=${SWIFT:-swift}
$SWIFT build -c release --product abm --static-swift-stdlib --scratch-path .build-static
BIN="$($SWIFT build -c release --static-swift-stdlib --scratch-path .build-static --show-bin-path)/abm"
TOOLCHAIN="$(dirname "$(dirname "$(dirname "$(readlink -f "$(command -v "$SWIFT")")")")")"

echo "== ldd $BIN"
ldd "$BIN"
if ldd "$BIN" | grep -E -i "swift|foundation|$TOOLCHAIN" >/dev/null; then
    echo "FAIL: the binary loads Swift libraries from the toolchain" >&2
    exit 1
fi
echo "== runtime packages"
for lib in $(ldd "$BIN" | awk '/=>/ {print $1}'); do
    dpkg -S "*/$lib" 2>/dev/null | head -1 | cut -d: -f1
done | sort -u | tr '\n' ' '
echo

WORK=$(mktemp -d /tmp/abm-static-check.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
cp "$BIN" "$WORK/abm"
cat > "$WORK/run.sh" <<'EOF'
set -eu
W=$1
A="env -i PATH=/usr/bin:/bin $W/abm"
$A --version
$A serve --ingress "ipc://$W/ingress" --control "ipc://$W/control" --events "ipc://$W/events" \
    --data-dir "$W/data" > "$W/out" 2> "$W/log" &
PID=$!
i=0
until grep -q '^ready$' "$W/out" 2>/dev/null; do
    i=$((i + 1)); [ $i -lt 100 ] || { cat "$W/log"; exit 1; }
    sleep 0.1
done
echo '{"account_id":"acme","email":"sarah@acme.example.com","name":"Sarah Chen","timezone":"America/New_York"}' > "$W/lead.json"
$A lead "$W/lead.json" --ingress "ipc://$W/ingress"
$A status acme --control "ipc://$W/control"
kill -TERM $PID
wait $PID
echo "serve drained, exit 0"
EOF
if [ "$(id -u)" = 0 ] && unshare -m true 2>/dev/null; then
    echo "== run with $TOOLCHAIN hidden (mount namespace) and an empty environment"
    unshare -m sh -c "mount -t tmpfs none '$TOOLCHAIN' && sh '$WORK/run.sh' '$WORK'"
else
    echo "== run with an empty environment (no root for a mount namespace: the toolchain stays on disk)"
    sh "$WORK/run.sh" "$WORK"
fi
echo "static binary OK"
