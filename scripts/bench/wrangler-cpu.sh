# Sourced by scripts/bench.sh and scripts/bench/vs-plainjs.sh: what both read of a wrk run and
# of the `wrangler dev` processes under it.

# CPU time so far of the processes in process group $1 (a wrangler dev started by
# scripts/wrangler-dev.sh), in clock ticks, one "<label> <ticks>" line each: node (wrangler
# itself), proxy-workerd (the public port), runtime-workerd (the Worker and its Durable Object;
# the one with the inspector).
wrangler_cpu_ticks() {
  local p f label
  for p in $(pgrep -g "$1"); do
    read -r -a f < "/proc/$p/stat" 2>/dev/null || continue
    case "$(tr '\0' ' ' < "/proc/$p/cmdline")" in
      *workerd*--inspector-addr*) label=runtime-workerd ;;
      *workerd*) label=proxy-workerd ;;
      *wrangler-dist*) label=node ;;
      *) continue ;;
    esac
    echo "$label $(( f[13] + f[14] ))"
  done
}

# CPU ms per request of each process between two wrangler_cpu_ticks snapshots ($1, $2) over $3
# requests, as "<label> <ms>" lines.
wrangler_cpu_per_request() {
  awk -v n="$3" -v hz="$(getconf CLK_TCK)" 'NR == FNR { t[$1] = $2; next }
    { printf "%s %.2f\n", $1, ($2 - t[$1]) * 1000 / hz / (n > 0 ? n : 1) }' <(echo "$1") <(echo "$2")
}

# A latency percentile line of `wrk --latency` output in file $2 ($1: "50%" or "99%"), in ms.
wrk_pct_ms() {
  awk -v p="$1" '$1 == p { v = $2
    if (v ~ /us$/) { sub(/us$/, "", v); v /= 1000 } else if (v ~ /ms$/) { sub(/ms$/, "", v) } else if (v ~ /s$/) { sub(/s$/, "", v); v *= 1000 }
    print v }' "$2"
}

# Requests a second of `wrk` output in file $1.
wrk_rate() { awk '/Requests\/sec/ { print $2 }' "$1"; }
