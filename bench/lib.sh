# shellcheck shell=bash
# shellcheck disable=SC2034 # GW_SRC, GW_TARGET, GW_DESC are set for the scripts that source this file
# Sourced by the bench scripts: which gateway sources to build and how to name them in a report.
# Needs ROOT (the repository) and TARGET_DIR (the cargo target dir of the benches).

log() { printf '== %s\n' "$*" >&2; }

# export_gateway [with-bench]: sets GW_SRC (where to build the gateway from) and GW_TARGET (its
# target dir). BENCH_GATEWAY_REV=<commit> builds that commit, exported with git archive, instead
# of the working tree (e.g. while the working tree is mid-edit and does not compile); with
# `with-bench`, the bench itself (bench/loadgen) is the working tree's, copied into the export.
export_gateway() {
    GW_SRC=$ROOT
    if [[ -n ${BENCH_GATEWAY_REV:-} ]]; then
        GW_SRC="$TARGET_DIR/gateway-src-$BENCH_GATEWAY_REV"
        if [[ ! -d $GW_SRC ]]; then
            mkdir -p "$GW_SRC"
            git -C "$ROOT" archive "$BENCH_GATEWAY_REV" | tar -x -C "$GW_SRC"
            # git archive keeps commit times: cargo (same target dir, location-independent
            # hashes) would take newer artifacts of the working tree as fresh. Make the export
            # newest.
            find "$GW_SRC" -type f -exec touch {} +
        fi
        if [[ ${1:-} == with-bench ]]; then
            rm -rf "$GW_SRC/bench/loadgen"
            cp -r "$ROOT/bench/loadgen" "$GW_SRC/bench/loadgen"
        fi
    fi
    # An exported commit gets its own target dir: cargo's hashes do not depend on the source
    # path, so artifacts of the export (touched newer) would otherwise pass for fresh builds of
    # the working tree, and a later run would silently measure the old code.
    GW_TARGET=$TARGET_DIR${BENCH_GATEWAY_REV:+/export-$BENCH_GATEWAY_REV}
}

# describe_gateway crate…: sets GW_DESC, the commit measured, "+ uncommitted changes" when the
# working tree changes one of the crates named (the ones the bench links or runs).
describe_gateway() {
    GW_DESC="$(git -C "$ROOT" rev-parse --short "${BENCH_GATEWAY_REV:-HEAD}")${BENCH_GATEWAY_REV:+ (exported)}"
    if [[ -z ${BENCH_GATEWAY_REV:-} && -n $(git -C "$ROOT" status --porcelain -- "$@") ]]; then
        GW_DESC="$GW_DESC + uncommitted changes"
    fi
}

# free_ports N: N free loopback ports, bound all at once by the kernel (ephemeral range), so
# they differ from each other and from the demo's fixed ports.
free_ports() {
    python3 -c 'import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in socks])' "$1"
}

# single_listener_config GW_PORT UP_PORT [ADMIN_PORT]: the gateway YAML of the one-listener
# measurements (profile.sh, ab.sh): the test PKI, client certificate required and pinned, no
# resumption (every handshake full), one proxy route to the upstream, the JSON access log on.
single_listener_config() {
    local pki="$ROOT/certs-test/pki" admin=""
    if [[ -n ${3:-} ]]; then admin="admin: {bind: \"127.0.0.1:$3\"}"; fi
    cat <<YAML
listeners:
  - name: bench
    bind: 127.0.0.1:$1
    tls:
      cert: $pki/server.pem
      key: $pki/server.key
      session_cache_size: 0
      client_auth: {mode: required, trust_anchors: [$pki/ca-bundle.pem]}
    max_connections: 4096
    max_connections_per_address: 4096
clients:
  sas-recette: {cn: sas-agregateur-recette, ou: "499700234190004"}
upstreams:
  # Room for the 1,024 h2 streams in flight: without it the pool churns (as in bench/run.sh).
  bench: {url: "http://127.0.0.1:$2", pool: {max_idle_per_host: 1024}}
routes:
  - {name: sas-bench, path_prefix: /sas, handler: proxy, upstream: bench, allowed_clients: [sas-recette]}
logging: {format: json, level: info}
$admin
YAML
}

install_pkg() { # command package…: installs the first package apt knows, if command is missing
    local cmd=$1 pkg
    shift
    command -v "$cmd" >/dev/null && return 0
    log "installing $cmd"
    apt-get update -qq
    for pkg in "$@"; do
        if apt-cache show "$pkg" >/dev/null 2>&1; then
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$pkg" >/dev/null
            return 0
        fi
    done
}

# Sum of utime+stime (clock ticks, all threads) of the given pids.
cpu_ticks() {
    local t=0 p
    for p in "$@"; do t=$((t + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done
    echo "$t"
}
