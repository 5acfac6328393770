#!/usr/bin/env bash
# The README's promise, tested as a newcomer meets it: clones this repository (its current
# commit; uncommitted changes are not part of it) into a temporary directory, with ../shared
# beside the clone as the tests expect (the Wycheproof vectors: ../shared/vectors), and runs
# EXACTLY the first two fenced commands of README.md, read from README.md itself:
#   1. install + `keybridge up`: in the background until it says it is up; then the agent must
#      answer (`keybridge status`, and a value set and read back), and it is stopped (Ctrl-C's
#      SIGINT, to its process group);
#   2. `npm test`: it must exit 0 and its last line must be "N passed, 0 failed[, N skipped]".
#
#   bash scripts/test-readme.sh [--keep]      # --keep: leave the temporary directory
#
# Takes 15–30 minutes (npm install compiles the native addons; npm test runs every suite): on a
# shared machine run it with `nice -n 10`. Run it as the user CI runs as (root here: npm test then
# installs missing Debian packages itself). Logs: .test-artifacts/readme-test/ in this checkout.
# Only environment variables are added around the commands, never arguments:
# KEYBRIDGE_HOME and KEYBRIDGE_LISTEN for command 1, so that it cannot touch ~/.keybridge or
# collide with another `keybridge up` on the default port. The npm and Composer caches in $HOME
# are the machine's own: a truly fresh machine downloads more, but runs the same commands.
# KEYBRIDGE_SHARED_DIR names the shared folder to copy (default: ../shared beside this checkout).
set -euo pipefail

die() { echo "test-readme.sh: $*" >&2; exit 1; }
KEEP=0
for arg in "$@"; do
  case "$arg" in
    --keep) KEEP=1 ;;
    *) die "usage: test-readme.sh [--keep]" ;;
  esac
done

REPO=$(cd "$(dirname "$0")/.." && pwd -P)
SHARED=${KEYBRIDGE_SHARED_DIR:-$REPO/../shared}
[ -d "$SHARED/vectors" ] || die "no $SHARED/vectors: the tests read the Wycheproof vectors from ../shared beside the checkout"
LOGS=$REPO/.test-artifacts/readme-test
rm -rf "$LOGS" && mkdir -p "$LOGS"

# The first two fenced blocks of README.md, each one command (joined if it spans lines).
fenced_block() {
  awk -v want="$1" '
    /^```/ { if (inside) { inside = 0; if (n == want) exit; next } n++; inside = 1; next }
    inside && n == want { print }
  ' "$REPO/README.md"
}
RUN_IT=$(fenced_block 1)
TEST_IT=$(fenced_block 2)
[ -n "$RUN_IT" ] && [ -n "$TEST_IT" ] || die "README.md has no two fenced commands at its top"
echo "README command 1: $RUN_IT"
echo "README command 2: $TEST_IT"

WORK=$(mktemp -d /tmp/kb-readme-XXXXXX)
chmod 0755 "$WORK" # a clone in an ordinary folder, e.g. /srv or /home/you: others may enter it
UP_PID=
cleanup() {
  if [ -n "$UP_PID" ] && kill -0 "$UP_PID" 2>/dev/null; then
    kill -INT -- "-$UP_PID" 2>/dev/null || true
    sleep 2
    kill -KILL -- "-$UP_PID" 2>/dev/null || true
  fi
  if [ "$KEEP" = 1 ]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

git clone --quiet --no-hardlinks "$REPO" "$WORK/keybridge"
git -C "$WORK/keybridge" checkout --quiet --detach "$(git -C "$REPO" rev-parse HEAD)"
[ -z "$(git -C "$REPO" status --porcelain)" ] || echo "note: uncommitted changes in $REPO are not part of this test"
mkdir -p "$WORK/shared"
cp -r "$SHARED/vectors" "$WORK/shared/vectors"
CLONE=$WORK/keybridge

# A free loopback port for command 1's agent.
PORT=$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')

echo "=== command 1 (in the background): $RUN_IT ==="
started=$(date +%s)
(cd "$CLONE" && KEYBRIDGE_HOME="$WORK/home" KEYBRIDGE_LISTEN="127.0.0.1:$PORT" exec setsid bash -c "$RUN_IT") >"$LOGS/command-1.log" 2>&1 &
UP_PID=$!
until grep -q '^keybridge is up' "$LOGS/command-1.log"; do
  kill -0 "$UP_PID" 2>/dev/null || { tail -n 30 "$LOGS/command-1.log" >&2; die "command 1 ended before keybridge was up"; }
  [ $(($(date +%s) - started)) -lt 2400 ] || die "keybridge was not up after 40 minutes"
  sleep 5
done
echo "keybridge up answered its start after $(($(date +%s) - started)) s"

# The agent answers: status, then a value round trip through the CLI (the README's "Try it").
cli() { (cd "$CLONE" && KEYBRIDGE_HOME="$WORK/home" npx --no-install keybridge "$@"); }
cli status >"$LOGS/status.txt" || { cat "$LOGS/status.txt" >&2; die "keybridge status failed against the running keybridge up"; }
value="readme-$RANDOM$RANDOM"
printf '%s' "$value" >"$WORK/value.txt"
cli keys set readme/demo --value-file "$WORK/value.txt" >"$WORK/demo.kek"
[ "$(cli keys get readme/demo --wrapping-key-file "$WORK/demo.kek")" = "$value" ] || die "keys get did not give back the value keys set stored"
echo "keybridge up answered: status ok, a value set and read back"
kill -INT -- "-$UP_PID"
for _ in $(seq 1 30); do kill -0 "$UP_PID" 2>/dev/null || break; sleep 1; done
kill -0 "$UP_PID" 2>/dev/null && die "keybridge up did not stop on SIGINT within 30 s"
UP_PID=

echo "=== command 2: $TEST_IT ==="
set +e
(cd "$CLONE" && bash -c "$TEST_IT") 2>&1 | tee "$LOGS/command-2.log"
status=${PIPESTATUS[0]}
set -e
total=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$LOGS/command-2.log" | tail -n 1)
echo "=== README test: command 1 up and answering; command 2 exited $status, total: ${total:-none} ==="
[ "$status" = 0 ] || die "npm test exited $status"
[[ "$total" =~ ^[0-9]+\ passed,\ 0\ failed ]] || die "npm test's total line does not say 0 failed"
echo "README test passed"
