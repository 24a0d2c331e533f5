# shellcheck shell=bash
# Sourced by bench/run.sh: the revocation material and the three peers' configs (gateway, nginx,
# HAProxy). Uses run.sh's globals: ROOT PKI TMP ACCESS_LOG REVOCATION NOFILE MAX_CONNS, the ports
# (UP_PORT ADMIN_PORT OCSP_PORT, {GW,NGX,HAP}_PORT, _REV_PORT, _RES_PORT, _IDLE_PORT), has_fig, and
# for the idle processes GATEWAY NGINX HAPROXY PROXY_CPU PIDS.
# Each writer has a "full" variant (the instances measured for the load figures: every listener
# the figures need) and an "idle" one (main listener only: a fresh process per idle run).
#
# Three listeners per peer, all with the same server certificate, CA bundle, client pinning
# (CN=sas-agregateur-recette + OU=499700234190004, else 403), identity headers and upstream:
#   main     no resumption (no session cache, no tickets); h2 offered by ALPN. Figures handshakes,
#            req-*, h2-1k, idle-*.
#   rev      (BENCH_REVOCATION=on) main + revocation: the 100,000-entry CRL of the intermediate and
#            the root's CRL; OCSP for the leaf (gateway, nginx). Figure handshakes-rev.
#   resumed  (figure handshakes-resumed) rev + a production-like stateful session cache: TLS 1.3
#            stateful tickets / TLS 1.2 session ids, no stateless (encrypted) tickets.
#
# Resumption, per listener kind:
#             gateway                   nginx                                haproxy
#   main/rev  session_cache_size: 0     ssl_session_cache off;               tune.ssl.cachesize 0
#                                       ssl_session_tickets off;             + no-tls-tickets
#                                       ssl_conf_command NumTickets 0;       + NumTickets 0 (OPENSSL_CONF)
#   resumed   session_cache_size: 20000 ssl_session_cache shared:SSL:10m;    tune.ssl.cachesize 20000
#                                       ssl_session_tickets off;             + no-tls-tickets
# HAProxy's session cache is global, not per bind: the resumed frontend is a second haproxy
# process (haproxy-resumed.cfg). The smoke test checks with openssl s_client that main/rev
# listeners send no ticket and do not resume, and that resumed listeners do.
#
# Revocation: HAProxy 2.6 does not check a client certificate's OCSP status (its OCSP support
# is stapling of its own certificate): its rev/resumed frontends check the same CRLs only.

# --- revocation material -----------------------------------------------------------------------
# write_revocation_material: $TMP/big.crl (DER, for the gateway) and $TMP/crls.pem (PEM, big CRL
# + root CRL, for nginx and haproxy: OpenSSL's CRL_CHECK_ALL wants a CRL for every CA of the
# chain); a client certificate revoked by OCSP only ($TMP/ocsp-revoked.pem); `openssl ocsp` on
# OCSP_PORT (its pid appended to PIDS).
#
# The big CRL is issued here with `openssl ca` rather than mtls's write_big_crl example (random
# serials only): it lists 99,999 random 16-byte serials plus the serial of the test PKI's
# clients/revoked.pem, so the revoked-certificate proof holds for all three peers, haproxy
# included (it has no client OCSP). The PKI's OCSP responder says revoked.pem is revoked too; the
# certificate issued here is revoked in OCSP only (a copy of the responder's index), which proves
# that the gateway and nginx really ask the responder.
write_revocation_material() {
    local dir="$TMP/crl" revoked_serial now leaf_serial
    mkdir -p "$dir"
    log "issuing a 100,000-entry CRL (openssl ca) and starting openssl ocsp on :$OCSP_PORT"
    revoked_serial=$(openssl x509 -in "$PKI/clients/revoked.pem" -noout -serial | cut -d= -f2)
    now=$(date -u +%y%m%d%H%M%SZ)
    python3 - "$dir/index.txt" 99999 "$now" "$revoked_serial" <<'EOF'
import secrets, sys
path, n, now, revoked = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
line = "R\t450101000000Z\t{},keyCompromise\t{}\tunknown\t/CN=bench\n"
with open(path, "w") as f:
    for _ in range(n):
        s = bytearray(secrets.token_bytes(16))
        s[0] &= 0x7F
        f.write(line.format(now, s.hex().upper()))
    f.write(line.format(now, revoked))
EOF
    echo 'unique_subject = no' >"$dir/index.txt.attr"
    echo 01 >"$dir/crlnumber"
    cat >"$dir/ca.cnf" <<EOF
[ca]
default_ca = big
[big]
database = $dir/index.txt
crlnumber = $dir/crlnumber
default_md = sha256
default_crl_days = 7
crl_extensions = crl_ext
[crl_ext]
authorityKeyIdentifier = keyid:always
EOF
    openssl ca -batch -config "$dir/ca.cnf" -gencrl -keyfile "$PKI/intermediate-ca.key" \
        -cert "$PKI/intermediate-ca.pem" -out "$dir/big.pem" 2>"$dir/ca.log"
    openssl crl -in "$dir/big.pem" -outform DER -out "$TMP/big.crl"
    cp "$dir/big.pem" "$TMP/crls.pem"
    openssl crl -inform DER -in "$PKI/crl/root.crl" >>"$TMP/crls.pem"

    # A client certificate like sas-recette's (same subject, so it passes the pinning), revoked
    # for the OCSP responder only.
    cat >"$dir/leaf.cnf" <<'EOF'
[ext]
authorityKeyIdentifier = keyid
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
basicConstraints = critical, CA:FALSE
EOF
    leaf_serial=7$(openssl rand -hex 16 | cut -c2- | tr a-f A-F)
    openssl req -new -newkey rsa:2048 -nodes -keyout "$TMP/ocsp-revoked.key" -out "$dir/leaf.csr" \
        -subj "$(openssl x509 -in "$PKI/clients/sas-recette.pem" -noout -subject -nameopt compat | sed 's/^subject=//')" 2>/dev/null
    openssl x509 -req -in "$dir/leaf.csr" -CA "$PKI/intermediate-ca.pem" -CAkey "$PKI/intermediate-ca.key" \
        -set_serial "0x$leaf_serial" -days 7 -extfile "$dir/leaf.cnf" -extensions ext \
        -out "$dir/ocsp-revoked.leaf.pem" 2>/dev/null
    cat "$dir/ocsp-revoked.leaf.pem" "$PKI/intermediate-ca.pem" >"$TMP/ocsp-revoked.pem"
    cp "$PKI/ocsp/index.txt" "$dir/ocsp-index.txt"
    cp "$PKI/ocsp/index.txt.attr" "$dir/ocsp-index.txt.attr" # unique_subject = no
    printf 'R\t450101000000Z\t%s,keyCompromise\t%s\tunknown\t/CN=ocsp-revoked\n' "$now" "$leaf_serial" \
        >>"$dir/ocsp-index.txt"

    openssl ocsp -index "$dir/ocsp-index.txt" -port "$OCSP_PORT" -rsigner "$PKI/ocsp/responder.pem" \
        -rkey "$PKI/ocsp/responder.key" -CA "$PKI/intermediate-ca.pem" -nmin 60 \
        >"$TMP/ocsp.log" 2>&1 &
    PIDS+=($!)
    for _ in $(seq 100); do grep -qi "waiting for OCSP" "$TMP/ocsp.log" && return 0; sleep 0.1; done
    log "openssl ocsp did not start: $(cat "$TMP/ocsp.log")"; return 1
}

# --- gateway -----------------------------------------------------------------------------------
gw_listener() { # name port session-cache-size client-auth-extra
cat <<EOF
  - name: $1
    bind: 127.0.0.1:$2
    tls:
      cert: $PKI/server.pem
      key: $PKI/server.key
      # 0: no session cache and no tickets (nginx: ssl_session_cache off + ssl_session_tickets
      # off; haproxy: tune.ssl.cachesize 0 + no-tls-tickets). 20000: the stateful cache (TLS 1.3
      # stateful tickets), the production setting of the resumed figure.
      session_cache_size: $3
      client_auth:
        mode: required
        trust_anchors: [$PKI/ca-bundle.pem]$4
    handshake_timeout: 10s
    # The idle figures hold BENCH_IDLE_CONNECTIONS connections from one address (default caps:
    # 10000 and 256 per address; nginx and haproxy have no per-address cap).
    idle_timeout: 300s
    max_connections: $MAX_CONNS
    max_connections_per_address: $MAX_CONNS
EOF
}
gw_route() { # name listener
cat <<EOF
  - name: $1
    listener: $2
    path_prefix: /sas
    methods: [GET, POST]
    handler: proxy
    upstream: bench
    allowed_clients: [sas-recette]
    max_body_size: 1MiB
    timeout: 30s
EOF
}
write_gateway_config() { # file port admin-port full|idle
    local file=$1 port=$2 admin=$3 full=no level=info rev="
        revocation:
          scope: whole_chain
          combine: both
          crl:
            sources: [$TMP/big.crl, $PKI/crl/root.crl]
          ocsp:
            mode: hard
            responder: http://127.0.0.1:$OCSP_PORT
            timeout: 2s"
    if [[ $ACCESS_LOG == off ]]; then level=warn; fi
    if [[ $4 == full ]]; then full=yes; fi
    cat >"$file" <<EOF
listeners:
$(gw_listener bench "$port" 0 "")
$(if [[ $full == yes && $REVOCATION == on ]]; then gw_listener bench-rev "$GW_REV_PORT" 0 "$rev"; fi)
$(if [[ $full == yes ]] && has_fig handshakes-resumed; then gw_listener bench-resumed "$GW_RES_PORT" 20000 "$rev"; fi)
clients:
  sas-recette:
    cn: sas-agregateur-recette
    ou: "499700234190004"
    environment: recette
upstreams:
  bench:
    url: http://127.0.0.1:$UP_PORT
    connect_timeout: 1s
    request_timeout: 30s
    pool:
      max_idle_per_host: $UP_POOL
      idle_timeout: 90s
routes:
$(gw_route sas-bench bench)
$(if [[ $full == yes && $REVOCATION == on ]]; then gw_route sas-bench-rev bench-rev; fi)
$(if [[ $full == yes ]] && has_fig handshakes-resumed; then gw_route sas-bench-resumed bench-resumed; fi)
admin:
  bind: 127.0.0.1:$admin
state:
  backend: memory
logging:
  format: json
  level: $level
shutdown:
  grace_period: 1s
EOF
}

# --- nginx -------------------------------------------------------------------------------------
ngx_server() { # port listen-flags session-directives extra-directives
cat <<EOF
    server {
        listen 127.0.0.1:$1 ssl$2;
        ssl_certificate $PKI/server.pem;
        ssl_certificate_key $PKI/server.key;
        ssl_client_certificate $PKI/ca-bundle.pem;
        ssl_verify_client on;
        ssl_verify_depth 2;
        ssl_protocols TLSv1.2 TLSv1.3;
        $3
        $4
        location /sas {
            # The same CN + OU pinning as the gateway's route.
            if (\$ssl_client_s_dn !~ "^CN=sas-agregateur-recette,OU=499700234190004,") { return 403; }
            proxy_pass http://bench;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            # Roughly the identity headers the gateway adds.
            proxy_set_header X-Client-Verified \$ssl_client_verify;
            proxy_set_header X-Client-Subject-DN \$ssl_client_s_dn;
            proxy_set_header X-Client-Issuer-DN \$ssl_client_i_dn;
            proxy_set_header X-Client-Serial \$ssl_client_serial;
            proxy_set_header X-Client-Not-After \$ssl_client_v_end;
            proxy_set_header X-Request-Id \$request_id;
            proxy_set_header X-Forwarded-For \$remote_addr;
            proxy_set_header X-Forwarded-Proto https;
            proxy_set_header X-Forwarded-Host \$host;
        }
    }
EOF
}
write_nginx_config() { # name port full|idle: $TMP/name.conf, name.pid, name-access.log, name-error.log
    local name=$1 port=$2 full=no
    # Without NumTickets 0, OpenSSL still sends two TLS 1.3 tickets per full handshake (stateful
    # ones, useless with the cache off): the gateway and haproxy send none.
    local access="access_log $TMP/$name-access.log;"
    local no_resume="ssl_session_cache off; ssl_session_tickets off; ssl_conf_command NumTickets 0;"
    local resume="ssl_session_cache shared:SSL:10m; ssl_session_tickets off;"
    local rev="ssl_crl $TMP/crls.pem;
        ssl_ocsp leaf;
        ssl_ocsp_responder http://127.0.0.1:$OCSP_PORT;
        ssl_ocsp_cache shared:ocsp:10m;"
    if [[ $ACCESS_LOG == off ]]; then access="access_log off;"; fi
    if [[ $3 == full ]]; then full=yes; fi
    cat >"$TMP/$name.conf" <<EOF
worker_processes 1;
worker_rlimit_nofile $NOFILE;
daemon on;
pid $TMP/$name.pid;
error_log $TMP/$name-error.log warn;
# Client and upstream connections count: the idle figures hold BENCH_IDLE_CONNECTIONS.
events { worker_connections $NGX_WORKER_CONNS; }
http {
    $access
    client_body_temp_path $TMP/client_body;
    proxy_temp_path $TMP/proxy_temp;
    # 100 KiB bodies stay in memory (default 16k spills them to a temp file).
    client_body_buffer_size 128k;
    client_max_body_size 1m;
    # Defaults are 1000: the connection would be closed (and re-handshaked) every 1000 requests.
    keepalive_requests 1000000;
    # HTTP/1.1 and (since 1.19.7) HTTP/2 idle connections; default 75s.
    keepalive_timeout 300s;
    upstream bench {
        server 127.0.0.1:$UP_PORT;
        keepalive $UP_POOL;
        keepalive_requests 1000000;
    }
$(ngx_server "$port" " http2" "$no_resume" "")
$(if [[ $full == yes && $REVOCATION == on ]]; then ngx_server "$NGX_REV_PORT" "" "$no_resume" "$rev"; fi)
$(if [[ $full == yes ]] && has_fig handshakes-resumed; then ngx_server "$NGX_RES_PORT" "" "$resume" "$rev"; fi)
}
EOF
    mkdir -p "$TMP/client_body" "$TMP/proxy_temp"
}

# --- HAProxy -----------------------------------------------------------------------------------
hap_frontend() { # name port extra-bind-options
cat <<EOF
frontend $1
    bind 127.0.0.1:$2 ssl crt $TMP/haproxy-server.pem ca-file $PKI/ca-bundle.pem verify required no-tls-tickets$3
    # nginx's location /sas, and the same CN + OU pinning as the gateway's route.
    http-request deny deny_status 404 unless { path_beg /sas }
    http-request deny deny_status 403 unless { ssl_c_s_dn(CN) -m str sas-agregateur-recette } { ssl_c_s_dn(OU) -m str 499700234190004 }
    # The identity headers nginx sets (DNs in RFC 2253 order like nginx's; not-after as
    # YYMMDDhhmmssZ where nginx writes "Jan  1 00:00:00 2045 GMT").
    unique-id-format %{+X}o\ %ci:%cp_%fi:%fp_%Ts_%rt:%pid
    http-request set-header X-Client-Verified SUCCESS if { ssl_c_verify 0 }
    http-request set-header X-Client-Subject-DN %[ssl_c_s_dn(,0,rfc2253)]
    http-request set-header X-Client-Issuer-DN %[ssl_c_i_dn(,0,rfc2253)]
    http-request set-header X-Client-Serial %[ssl_c_serial,hex]
    http-request set-header X-Client-Not-After %[ssl_c_notafter]
    http-request set-header X-Request-Id %[unique-id]
    http-request set-header X-Forwarded-For %[src]
    http-request set-header X-Forwarded-Proto https
    http-request set-header X-Forwarded-Host %[req.hdr(host)]
    default_backend bench
EOF
}
hap_config() { # session-cache-size frontends…
    local cache=$1 logging="option httplog"
    shift
    # Logging: haproxy only logs through syslog; here `log stdout format raw` with haproxy in the
    # foreground (-db) and stdout redirected to a file: one write(2) per request, like nginx's
    # unbuffered access_log and the gateway's log file, and its cost stays inside the measured
    # process. (In production a syslog daemon would write the file, at its own CPU cost.)
    # BENCH_ACCESS_LOG=off: dontlog-normal keeps only errors, timeouts and aborted connections.
    if [[ $ACCESS_LOG == off ]]; then logging="option httplog
    option dontlog-normal"; fi
    cat <<EOF
global
    nbthread 1
    maxconn $MAX_CONNS
    # haproxy asks for ~2 fds per connection (client + server side); where the hard limit is
    # lower (20000 on some machines) strict-limits (default on) would refuse to start. With
    # upstream reuse, idle client connections share a handful of server connections.
    no strict-limits
    # Session cache: 0 (main instance) or 20000 (resumed instance); no stateless tickets
    # (no-tls-tickets on the binds).
    tune.ssl.cachesize $cache
    log stdout format raw local0
defaults
    mode http
    log global
    $logging
    maxconn $MAX_CONNS
    timeout connect 5s
    timeout client 300s
    timeout server 300s
    timeout http-keep-alive 300s
    http-reuse always
backend bench
    # Upstream stays HTTP/1.1 with keep-alive (at most UP_POOL idle connections, like the others).
    server up 127.0.0.1:$UP_PORT pool-max-conn $UP_POOL
EOF
    local f
    for f in "$@"; do echo "$f"; done
}
write_haproxy_configs() {
    local crl=" crl-file $TMP/crls.pem"
    cat "$PKI/server.pem" "$PKI/server.key" >"$TMP/haproxy-server.pem"
    # With no-tls-tickets and no cache, OpenSSL still sends two (useless, stateful) TLS 1.3
    # tickets per full handshake and haproxy 2.6 has no setting for it (haproxy issue #1103):
    # the haproxy without resumption runs with OPENSSL_CONF pointing here (NumTickets 0 for every
    # SSL_CTX), like nginx's ssl_conf_command NumTickets 0. (Debian's openssl.cnf sets nothing
    # for libssl, so nothing else changes.)
    cat >"$TMP/openssl-no-tickets.cnf" <<'EOF'
openssl_conf = openssl_init
[openssl_init]
ssl_conf = ssl_sect
[ssl_sect]
system_default = system_default_sect
[system_default_sect]
NumTickets = 0
EOF
    hap_config 0 "$(hap_frontend bench "$HAP_PORT" " alpn h2,http/1.1")" \
        "$(if [[ $REVOCATION == on ]]; then hap_frontend bench-rev "$HAP_REV_PORT" "$crl"; fi)" \
        >"$TMP/haproxy.cfg"
    if has_fig handshakes-resumed; then
        hap_config 20000 "$(hap_frontend bench-resumed "$HAP_RES_PORT" "$crl")" >"$TMP/haproxy-resumed.cfg"
    fi
    hap_config 0 "$(hap_frontend bench "$HAP_IDLE_PORT" " alpn h2,http/1.1")" >"$TMP/haproxy-idle.cfg"
}

# nginx_pids pid-file: master and worker pids, once the daemonized master has written its pid
# file (after the parent returned) and started its worker.
nginx_pids() {
    local master="" workers=""
    for _ in $(seq 100); do
        master=$(cat "$1" 2>/dev/null || true)
        if [[ -n $master ]]; then workers=$(pgrep -P "$master" | tr '\n' ' ' || true); fi
        if [[ -n $workers ]]; then echo "$master $workers"; return 0; fi
        sleep 0.1
    done
    log "nginx did not start (pid file $1)"; return 1
}

# --- processes (idle figures) ----------------------------------------------------------------
# start_idle_peer / stop_idle_peer: a fresh process of one peer with the main listener's settings
# (the "idle" configs above), pinned like the others; mem_sample: what the idle figures record.
start_idle_peer() { # peer → IDLE_PIDS (all the peer's processes) and PIDS
    case $1 in
        gateway)
            TOKIO_WORKER_THREADS=1 taskset -c "$PROXY_CPU" "$GATEWAY" run --config "$TMP/gateway-idle.yaml" \
                >>"$TMP/gateway-idle.log" 2>&1 &
            IDLE_PIDS=$! ;;
        nginx)
            taskset -c "$PROXY_CPU" "$NGINX" -c "$TMP/nginx-idle.conf" -p "$TMP"
            IDLE_PIDS=$(nginx_pids "$TMP/nginx-idle.pid") ;;
        haproxy)
            OPENSSL_CONF="$TMP/openssl-no-tickets.cnf" taskset -c "$PROXY_CPU" "$HAPROXY" -db \
                -f "$TMP/haproxy-idle.cfg" >>"$TMP/haproxy-idle-access.log" 2>>"$TMP/haproxy-idle.err" &
            IDLE_PIDS=$! ;;
    esac
    # shellcheck disable=SC2206
    PIDS+=($IDLE_PIDS)
}
stop_idle_peer() { # pids…: stops them and waits until they are gone
    local p
    kill "$@" 2>/dev/null || true
    for p in "$@"; do while kill -0 "$p" 2>/dev/null; do sleep 0.1; done; done
    rm -f "$TMP/nginx-idle.pid"
}

# Sum of VmRSS and Pss (KiB, null if smaps_rollup is unreadable) and open fds of the given pids.
mem_sample() {
    local rss=0 pss=0 fds=0 p v
    for p in "$@"; do
        rss=$((rss + $(awk '/^VmRSS:/ {print $2}' "/proc/$p/status")))
        v=$(awk '/^Pss:/ {print $2}' "/proc/$p/smaps_rollup" 2>/dev/null || true)
        if [[ -n $v && $pss != null ]]; then pss=$((pss + v)); else pss=null; fi
        fds=$((fds + $(find "/proc/$p/fd" -mindepth 1 -maxdepth 1 | wc -l)))
    done
    echo "{\"rss_kib\": $rss, \"pss_kib\": $pss, \"fds\": $fds}"
}
