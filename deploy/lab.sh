#!/usr/bin/env bash
# The dnsfailover lab: BIND (and optionally Knot DNS), two web servers and the agent in
# docker compose. Stop web1 and www.example.test moves to web2.
#
# Usage:
#   deploy/lab.sh up [--knot]      build, generate the TSIG key, start, wait until DNS answers
#   deploy/lab.sh status           show the services and the current answers
#   deploy/lab.sh test [--knot]    end-to-end failover test on a fresh lab, torn down afterwards
#   deploy/lab.sh down [--keep-images]
#                                remove containers, network, key and lab images
#                                (never the cached base image)
#
# --knot adds the Knot DNS primary and its agent (compose profile "knot"); BIND stays up,
# so `test --knot` checks both nameservers in one run.
#
# Environment:
#   DNSFAILOVER_BASE_IMAGE        base of every image; default: debian:bookworm-slim when a
#                                 registry is reachable, else dnsfailover-base:bookworm
#                                 (built by deploy/docker/base-image.sh)
#   DNSFAILOVER_OFFLINE=1         skip the registry probe and build everything locally
#   DNSFAILOVER_AGENT_DOCKERFILE  agent Dockerfile; default: .../Dockerfile (Rust build stage)
#                                 with a registry, .../Dockerfile.prebuilt (host binary) without
#   DNSFAILOVER_LAB_DEADLINE      seconds a DNS move may take in `test` (default 15)
set -euo pipefail

REPO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly REPO_DIR
readonly PROJECT=dnsfailover-lab
readonly NETWORK="${PROJECT}_lab"
readonly RUN_DIR="$REPO_DIR/deploy/lab/run"
readonly LAB_SUBNETS=(172.28.53.0/24 fd00:53::/64)
readonly AGENT_UID=10053
readonly KEY_IMAGE=dnsfailover-lab/bind:latest
readonly IMAGE_LABEL=org.dnsfailover.lab=true
readonly LOCAL_BASE_IMAGE=dnsfailover-base:bookworm
readonly PUBLIC_BASE_IMAGE=debian:bookworm-slim
readonly BIND_PORT=5353 KNOT_PORT=5354
readonly WEB1_ANSWER="172.28.53.11 fd00:53::11" WEB2_ANSWER="172.28.53.12 fd00:53::12"
readonly WEB1_IPV4=172.28.53.11 WEB1_IPV6=fd00:53::11
readonly FAILOVER_NAME=www.example.test
MOVE_DEADLINE_S="${DNSFAILOVER_LAB_DEADLINE:-15}"
readonly MOVE_DEADLINE_S

COMPOSE=()
PROFILE_ARGS=()
DNS_PORTS=("$BIND_PORT")

die() { echo "lab: $*" >&2; exit 1; }
log() { echo "lab: $*" >&2; }

# ---------------------------------------------------------------------------------------
# Prerequisites

# Install Debian packages when root, else stop and say what to install.
require_packages() {
    local missing=("$@")
    ((${#missing[@]} > 0)) || return 0
    if [[ $(id -u) -ne 0 ]]; then
        die "missing tools; install them with: sudo apt-get install ${missing[*]}"
    fi
    log "installing ${missing[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# Find the compose tool: `docker compose` (v2) or `docker-compose` (v1).
detect_compose() {
    if docker compose version >/dev/null 2>&1; then
        COMPOSE=(docker compose)
    elif command -v docker-compose >/dev/null; then
        COMPOSE=(docker-compose)
    else
        require_packages docker-compose
        COMPOSE=(docker-compose)
    fi
}

# Check docker, compose and dig; install what is missing when root.
ensure_tools() {
    command -v docker >/dev/null || require_packages docker.io
    docker info >/dev/null 2>&1 || die "cannot talk to the docker daemon (is it running? are you in group docker?)"
    command -v dig >/dev/null || require_packages bind9-dnsutils
    detect_compose
}

# Run compose on the lab project with the active profiles.
compose() {
    "${COMPOSE[@]}" -p "$PROJECT" -f "$REPO_DIR/docker-compose.yml" "${PROFILE_ARGS[@]}" "$@"
}

# ---------------------------------------------------------------------------------------
# Images

# True when the public base image is present or can be pulled.
registry_reachable() {
    [[ "${DNSFAILOVER_OFFLINE:-0}" != 1 ]] || return 1
    docker image inspect "$PUBLIC_BASE_IMAGE" >/dev/null 2>&1 && return 0
    timeout 60 docker pull -q "$PUBLIC_BASE_IMAGE" >/dev/null 2>&1
}

# Build the agent binary on the host for Dockerfile.prebuilt.
build_host_binary() {
    if command -v cargo >/dev/null; then
        log "cargo build --release"
        (cd "$REPO_DIR" && cargo build --release --bin dnsfailover)
    elif [[ -x "$REPO_DIR/target/release/dnsfailover" ]]; then
        log "cargo not found; using the existing target/release/dnsfailover"
    else
        die "without a registry the agent image needs target/release/dnsfailover: install Rust (https://rustup.rs) or build it elsewhere on Debian bookworm"
    fi
}

# Decide the base image and agent Dockerfile; build what the no-registry path needs.
prepare_images() {
    if [[ -z "${DNSFAILOVER_BASE_IMAGE:-}" ]]; then
        if registry_reachable; then
            export DNSFAILOVER_BASE_IMAGE=$PUBLIC_BASE_IMAGE
        else
            log "no registry reachable: building images from $LOCAL_BASE_IMAGE"
            export DNSFAILOVER_BASE_IMAGE=$LOCAL_BASE_IMAGE
        fi
    fi
    if [[ "$DNSFAILOVER_BASE_IMAGE" == "$LOCAL_BASE_IMAGE" ]]; then
        # No registry means no rust image either: the agent binary comes from the host.
        : "${DNSFAILOVER_AGENT_DOCKERFILE:=deploy/docker/agent/Dockerfile.prebuilt}"
        command -v debootstrap >/dev/null || docker image inspect "$LOCAL_BASE_IMAGE" >/dev/null 2>&1 ||
            require_packages debootstrap
        "$REPO_DIR/deploy/docker/base-image.sh"
    fi
    export DNSFAILOVER_AGENT_DOCKERFILE="${DNSFAILOVER_AGENT_DOCKERFILE:-deploy/docker/agent/Dockerfile}"
    if [[ "$DNSFAILOVER_AGENT_DOCKERFILE" == *prebuilt ]]; then
        build_host_binary
    fi
    log "building images FROM $DNSFAILOVER_BASE_IMAGE (agent: $DNSFAILOVER_AGENT_DOCKERFILE)"
    compose build
}

# ---------------------------------------------------------------------------------------
# Network and key

# Refuse to start when a host route (docker bridges included) overlaps the lab subnets.
check_subnets_free() {
    docker network inspect "$NETWORK" >/dev/null 2>&1 && return 0
    local subnet family routes
    for subnet in "${LAB_SUBNETS[@]}"; do
        family=-4 && [[ $subnet == *:* ]] && family=-6
        routes=$({
            ip "$family" route show match "$subnet"
            ip "$family" route show root "$subnet"
        } | grep -v '^default' || true)
        [[ -z "$routes" ]] ||
            die "the lab subnet $subnet overlaps existing routes: $routes (its addresses are fixed in docker-compose.yml and deploy/lab/)"
    done
}

# Write the TSIG key (BIND format, for named and the agent) and its Knot form, once per lab.
generate_key() {
    if [[ -f "$RUN_DIR/lab.key" && -f "$RUN_DIR/knot-key.conf" ]]; then
        return 0
    fi
    # A `compose up` without keys makes docker create directories in their place.
    rm -rf "$RUN_DIR"
    mkdir -p "$RUN_DIR"
    log "generating the TSIG key lab-key into ${RUN_DIR#"$REPO_DIR"/}"
    docker run --rm --network none --user 0 -v "$RUN_DIR:/out" --entrypoint /bin/sh "$KEY_IMAGE" -c '
        set -eu
        umask 077
        tsig-keygen -a hmac-sha256 lab-key >/out/lab.key.new
        secret=$(sed -n "s/^[[:space:]]*secret \"\(.*\)\";/\1/p" /out/lab.key.new)
        [ -n "$secret" ]
        printf "key:\n  - id: lab-key\n    algorithm: hmac-sha256\n    secret: %s\n" "$secret" \
            >/out/knot-key.conf.new
        chown "$1:$1" /out/lab.key.new
        mv /out/lab.key.new /out/lab.key
        mv /out/knot-key.conf.new /out/knot-key.conf
    ' keygen "$AGENT_UID"
}

# ---------------------------------------------------------------------------------------
# DNS answers

# Print the sorted A and AAAA addresses of the failover name at 127.0.0.1:PORT, one line.
dns_answer() {
    local out
    out=$(dig @127.0.0.1 -p "$1" +short +time=1 +tries=1 "$FAILOVER_NAME" A "$FAILOVER_NAME" AAAA 2>/dev/null) || true
    awk '!/^;/ && NF' <<<"$out" | sort | paste -sd' ' -
}

# Milliseconds since the epoch.
now_ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }

# Format milliseconds as seconds with milliseconds.
seconds() { printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)); }

# Wait until every active nameserver answers EXPECTED; print the time each took.
# Usage: wait_for_answer LABEL EXPECTED START_MS DEADLINE_S
wait_for_answer() {
    local label=$1 expected=$2 start=$3 deadline_s=$4
    local deadline=$((start + deadline_s * 1000)) pending=("${DNS_PORTS[@]}") port answer left
    while ((${#pending[@]} > 0)); do
        left=()
        for port in "${pending[@]}"; do
            answer=$(dns_answer "$port")
            if [[ "$answer" == "$expected" ]]; then
                printf '  %-34s %-5s %ss\n' "$label" "$(server_of_port "$port")" "$(seconds $(($(now_ms) - start)))"
            else
                left+=("$port")
            fi
        done
        pending=("${left[@]}")
        ((${#pending[@]} > 0)) || break
        if (($(now_ms) > deadline)); then
            for port in "${pending[@]}"; do
                echo "FAIL: $label: $(server_of_port "$port") still answers '$(dns_answer "$port")'," \
                    "expected '$expected' within ${deadline_s}s" >&2
            done
            return 1
        fi
        sleep 0.05
    done
}

# Name the nameserver behind a published port.
server_of_port() { [[ $1 == "$KNOT_PORT" ]] && echo knot || echo bind; }

# Wait until the nameservers answer at all (after start).
wait_for_dns() {
    local port deadline=$(($(now_ms) + 60000))
    for port in "${DNS_PORTS[@]}"; do
        until [[ -n "$(dns_answer "$port")" ]]; do
            (($(now_ms) < deadline)) || die "$(server_of_port "$port") does not answer on 127.0.0.1:$port; see: ${COMPOSE[*]} -p $PROJECT logs"
            sleep 0.2
        done
    done
}

# ---------------------------------------------------------------------------------------
# Commands

# Parse --knot for up and test.
parse_knot_flag() {
    case "${1:-}" in
        --knot) PROFILE_ARGS=(--profile knot) && DNS_PORTS=("$BIND_PORT" "$KNOT_PORT") ;;
        "") ;;
        *) die "unknown option '$1' (see the usage at the top of deploy/lab.sh)" ;;
    esac
}

cmd_up() {
    parse_knot_flag "$@"
    ensure_tools
    check_subnets_free
    prepare_images
    generate_key
    compose up -d
    wait_for_dns
    local port
    for port in "${DNS_PORTS[@]}"; do
        log "$(server_of_port "$port") on 127.0.0.1:$port answers: $(dns_answer "$port")"
    done
    cat <<EOF

The lab is up. Watch the failover name and stop the preferred server:
  watch -n 0.5 dig @127.0.0.1 -p $BIND_PORT +short $FAILOVER_NAME
  ${COMPOSE[*]} -p $PROJECT stop web1      # www moves to web2 (172.28.53.12)
  ${COMPOSE[*]} -p $PROJECT start web1     # and back to web1 (172.28.53.11)
  ${COMPOSE[*]} -p $PROJECT logs -f agent
Knot DNS (after 'deploy/lab.sh up --knot') answers on 127.0.0.1:$KNOT_PORT.
Remove everything with: deploy/lab.sh down
EOF
}

cmd_status() {
    ensure_tools
    PROFILE_ARGS=(--profile knot)
    compose ps
    local port
    for port in "$BIND_PORT" "$KNOT_PORT"; do
        echo "$(server_of_port "$port") 127.0.0.1:$port $FAILOVER_NAME: $(dns_answer "$port" || true)"
    done
}

cmd_down() {
    local rmi=(--rmi all)
    case "${1:-}" in
        --keep-images) rmi=() ;;
        "") ;;
        *) die "unknown option '$1' (usage: deploy/lab.sh down [--keep-images])" ;;
    esac
    ensure_tools
    PROFILE_ARGS=(--profile knot)
    compose down -v --remove-orphans "${rmi[@]}"
    if ((${#rmi[@]} > 0)); then
        # Older builds of the lab images, untagged by later rebuilds.
        docker image prune -f --filter "label=$IMAGE_LABEL" >/dev/null
    fi
    rm -rf "$RUN_DIR"
}

# ---------------------------------------------------------------------------------------
# The end-to-end test

# The ids of all containers of the lab project, whatever their profile or state.
lab_containers() { docker ps -aq --filter "label=com.docker.compose.project=$PROJECT"; }

# The container id of a lab service.
container_of() { compose ps -q "$1"; }

# Run a disruption, then wait for the expected answer; time from just before the command.
# Usage: move LABEL EXPECTED COMMAND...
move() {
    local label=$1 expected=$2 start
    shift 2
    start=$(now_ms)
    "$@" >/dev/null 2>&1 || { echo "FAIL: $label: '$*' failed" >&2; return 1; }
    wait_for_answer "$label" "$expected" "$start" "$MOVE_DEADLINE_S"
}

# On failure, show what the agents said before the lab goes away.
show_agent_logs() {
    local services=(agent)
    ((${#PROFILE_ARGS[@]} == 0)) || services+=(agent-knot)
    echo "--- last log lines of ${services[*]}" >&2
    compose logs --no-color --tail 30 "${services[@]}" >&2 || true
}

# Fail early when an agent is not running (e.g. it exited on a configuration error).
require_agents_running() {
    local services=(agent) service id
    ((${#PROFILE_ARGS[@]} == 0)) || services+=(agent-knot)
    for service in "${services[@]}"; do
        id=$(container_of "$service")
        [[ -n "$id" && "$(docker inspect -f '{{.State.Running}}' "$id")" == true ]] ||
            { echo "FAIL: $service is not running" >&2; return 1; }
    done
}

# The agents' status listeners answer on the host's loopback and report every record in
# sync (checked with the host-built binary's `status` command, when there is one).
require_status_in_sync() {
    local binary="$REPO_DIR/target/release/dnsfailover" ports=(9153) port deadline
    ((${#PROFILE_ARGS[@]} == 0)) || ports+=(9154)
    [[ -x "$binary" ]] || { log "no target/release/dnsfailover: the status listener is not checked"; return 0; }
    for port in "${ports[@]}"; do
        deadline=$(($(now_ms) + 15000))
        until "$binary" status --url "http://127.0.0.1:$port" >/dev/null 2>&1; do
            if (($(now_ms) > deadline)); then
                echo "FAIL: the status listener on 127.0.0.1:$port does not report every record in sync" >&2
                "$binary" status --url "http://127.0.0.1:$port" >&2 || true
                return 1
            fi
            sleep 0.2
        done
        echo "  status listener http://127.0.0.1:$port/: every record in sync"
    done
}

test_cleanup() {
    local status=$?
    trap - EXIT INT TERM
    ((status == 0)) || show_agent_logs
    log "tearing the lab down"
    cmd_down --keep-images >/dev/null 2>&1 || log "teardown failed: run deploy/lab.sh down"
    exit "$status"
}

cmd_test() {
    parse_knot_flag "$@"
    local began web1
    began=$(now_ms)
    ensure_tools
    [[ -z "$(lab_containers)" ]] || die "the lab is running; run deploy/lab.sh down first"
    trap test_cleanup EXIT
    trap 'exit 130' INT TERM
    cmd_up "$@" >/dev/null
    web1=$(container_of web1)
    echo "moves of $FAILOVER_NAME (deadline ${MOVE_DEADLINE_S}s each):"
    wait_for_answer "initial: web1" "$WEB1_ANSWER" "$(now_ms)" 30
    require_agents_running
    require_status_in_sync
    move "stop web1 -> web2" "$WEB2_ANSWER" compose stop web1
    move "start web1 -> web1" "$WEB1_ANSWER" compose start web1
    move "pause web1 -> web2" "$WEB2_ANSWER" compose pause web1
    move "unpause web1 -> web1" "$WEB1_ANSWER" compose unpause web1
    move "disconnect web1 -> web2" "$WEB2_ANSWER" docker network disconnect "$NETWORK" "$web1"
    move "reconnect web1 -> web1" "$WEB1_ANSWER" \
        docker network connect --ip "$WEB1_IPV4" --ip6 "$WEB1_IPV6" "$NETWORK" "$web1"
    echo "PASS ($(seconds $(($(now_ms) - began)))s including setup)"
}

main() {
    local command=${1:-}
    shift || true
    case "$command" in
        up) cmd_up "$@" ;;
        down) cmd_down "$@" ;;
        status) cmd_status "$@" ;;
        test) cmd_test "$@" ;;
        *) die "usage: deploy/lab.sh up [--knot] | status | test [--knot] | down [--keep-images]" ;;
    esac
}

main "$@"
