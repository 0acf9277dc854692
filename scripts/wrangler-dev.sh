#!/usr/bin/env bash
# Starts and stops a local `wrangler dev` (workerd) for the already-built Worker.
# Build first with scripts/build-worker.sh: wrangler.toml has no [build] section on purpose.
#
#   scripts/wrangler-dev.sh start     start in the background, wait until /healthz answers,
#                                     print `PID=<pid>` (the node wrangler-dist/cli.js process)
#   scripts/wrangler-dev.sh stop [PID]  SIGINT that process (it ends workerd too), wait, and
#                                     make sure nothing of its process group is left
#   scripts/wrangler-dev.sh status    say whether the instance on PORT is up
#
# Environment (all optional):
#   PORT=8787                 port on 127.0.0.1
#   STATE_DIR=.wrangler/state --persist-to directory (KV, Durable Object SQLite, alarms);
#                             reuse it across a stop/start to keep the state
#   LOG_FILE=.wrangler/dev-$PORT.log   wrangler's output (appended)
#   PID_FILE=.wrangler/dev-$PORT.pid
#   START_TIMEOUT=60          seconds to wait for /healthz
#   INSPECTOR_PORT            pass a fixed --inspector-port (default: wrangler picks one)
#   WRANGLER_CONFIG           another Worker's wrangler.toml (default: ./wrangler.toml, stocksync
#                             itself, which must be built first), e.g. the plain-JavaScript
#                             comparison worker scripts/bench/plainjs/wrangler.toml (no build);
#                             wrangler then reads .dev.vars beside that file, so pass
#                             WRANGLER_ARGS="--env-file $PWD/.dev.vars" (an absolute path) for
#                             stocksync's API_KEY
#   LOG_LEVEL=info            wrangler's --log-level; info logs a line per request, which costs
#                             the node process ~4 ms of CPU each (benchmarks may pass warn)
#   WRANGLER_ARGS             more `wrangler dev` arguments, split on whitespace, e.g.
#                             "--var ALLOW_TENANT_HEADER:1 --var RETRY_BASE_MS:50" (the HTTP
#                             tests use this) or "--env-file /tmp/x.vars" (another .dev.vars)
#
# Local secrets come from .dev.vars (gitignored). If it does not exist, one is written with
# API_KEY=dev-local-key so the Worker always has its secret locally.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

PORT=${PORT:-8787}
STATE_DIR=${STATE_DIR:-.wrangler/state}
LOG_FILE=${LOG_FILE:-.wrangler/dev-$PORT.log}
PID_FILE=${PID_FILE:-.wrangler/dev-$PORT.pid}
START_TIMEOUT=${START_TIMEOUT:-60}
url="http://127.0.0.1:$PORT"

export WRANGLER_SEND_METRICS=false
export CLOUDFLARE_CF_FETCH_ENABLED=false
export NO_COLOR=1 FORCE_COLOR=0   # plain log file

say() { printf 'wrangler-dev: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }
alive() { kill -0 "$1" 2>/dev/null; }
group_pids() { pgrep -g "$1" 2>/dev/null || true; }
now_ms() { date +%s%3N; }

start() {
  local cli="$root/node_modules/wrangler/wrangler-dist/cli.js"
  [ -f "$cli" ] || die "$cli missing (npm ci)"
  if [ -n "${WRANGLER_CONFIG:-}" ]; then
    [ -f "$WRANGLER_CONFIG" ] || die "$WRANGLER_CONFIG missing"
  else
    [ -f crates/worker/build/index.js ] || die "crates/worker/build/index.js missing: run scripts/build-worker.sh first"
  fi
  if curl -s -o /dev/null --max-time 1 "$url/"; then
    die "something already answers on $url (stop it first: PORT=$PORT $0 stop)"
  fi
  if [ ! -f .dev.vars ]; then
    printf 'API_KEY=dev-local-key\n' > .dev.vars
    say "wrote .dev.vars with API_KEY=dev-local-key (local only, gitignored)"
  fi
  mkdir -p "$STATE_DIR" "$(dirname "$LOG_FILE")" "$(dirname "$PID_FILE")"

  local extra=()
  [ -n "${WRANGLER_CONFIG:-}" ] && extra+=(--config "$WRANGLER_CONFIG")
  [ -n "${INSPECTOR_PORT:-}" ] && extra+=(--inspector-port "$INSPECTOR_PORT")
  if [ -n "${WRANGLER_ARGS:-}" ]; then
    local more; read -r -a more <<<"$WRANGLER_ARGS"
    extra+=("${more[@]}")
  fi

  local t0; t0=$(now_ms)
  printf '\n=== %s start port=%s state=%s ===\n' "$(date -Is)" "$PORT" "$STATE_DIR" >> "$LOG_FILE"
  # Run wrangler-dist/cli.js directly (what bin/wrangler.js would spawn) in its own session, so
  # $! is the process to SIGINT and workerd shares its process group.
  setsid node --no-warnings --experimental-vm-modules "$cli" dev \
      --ip 127.0.0.1 --port "$PORT" --persist-to "$STATE_DIR" \
      --show-interactive-dev-session=false --log-level "${LOG_LEVEL:-info}" "${extra[@]}" \
      </dev/null >>"$LOG_FILE" 2>&1 &
  local pid=$!
  echo "$pid" > "$PID_FILE"

  local deadline=$(( $(now_ms) + START_TIMEOUT * 1000 ))
  until curl -sf -o /dev/null --max-time 2 "$url/healthz"; do
    if ! alive "$pid"; then
      tail -n 40 "$LOG_FILE" >&2
      rm -f "$PID_FILE"
      die "wrangler exited before answering (log: $LOG_FILE)"
    fi
    if [ "$(now_ms)" -ge "$deadline" ]; then
      tail -n 40 "$LOG_FILE" >&2
      stop_pid "$pid"
      die "no answer from $url/healthz within ${START_TIMEOUT}s (log: $LOG_FILE)"
    fi
    sleep 0.1
  done
  say "up at $url in $(( $(now_ms) - t0 )) ms (log: $LOG_FILE, state: $STATE_DIR)"
  echo "PID=$pid"
}

# SIGINT the cli.js process (wrangler then ends workerd), wait for the whole process group to
# go; escalate to SIGTERM/SIGKILL of that group only if something is still there.
stop_pid() {
  local pid=$1 t0; t0=$(now_ms)
  if alive "$pid"; then
    kill -INT "$pid" 2>/dev/null || true
  fi
  local i
  for i in $(seq 1 100); do                      # up to 10 s
    [ -z "$(group_pids "$pid")" ] && ! alive "$pid" && break
    sleep 0.1
  done
  if [ -n "$(group_pids "$pid")" ]; then
    say "process group $pid still running after SIGINT; sending SIGTERM"
    kill -TERM -- "-$pid" 2>/dev/null || true
    sleep 1
    if [ -n "$(group_pids "$pid")" ]; then
      say "sending SIGKILL to process group $pid"
      kill -KILL -- "-$pid" 2>/dev/null || true
      sleep 0.2
    fi
  fi
  [ -z "$(group_pids "$pid")" ] || die "could not stop process group $pid"
  say "stopped $pid in $(( $(now_ms) - t0 )) ms"
}

stop() {
  local pid=${1:-}
  if [ -z "$pid" ]; then
    [ -f "$PID_FILE" ] || { say "no $PID_FILE: nothing to stop"; return 0; }
    pid=$(cat "$PID_FILE")
  fi
  stop_pid "$pid"
  if [ -f "$PID_FILE" ] && [ "$(cat "$PID_FILE")" = "$pid" ]; then rm -f "$PID_FILE"; fi
}

status() {
  if curl -sf -o /dev/null --max-time 2 "$url/healthz"; then
    echo "up on $url${PID_FILE:+ (pid $(cat "$PID_FILE" 2>/dev/null || echo '?'))}"
  else
    echo "down on $url"; return 1
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop "${2:-}" ;;
  status) status ;;
  *) die "usage: $0 start|stop [PID]|status" ;;
esac
