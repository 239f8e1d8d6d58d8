#!/usr/bin/env bash
# Build the local Debian bookworm base image used by the lab when no registry is reachable.
#
# Usage: deploy/docker/base-image.sh [--force]
#
# The image is made with `debootstrap --variant=minbase` from the Debian mirror this host
# already uses (or $DNSFAILOVER_DEBIAN_MIRROR) and imported as $DNSFAILOVER_BASE_IMAGE
# (default dnsfailover-base:bookworm). It is cached: nothing happens when the image exists,
# unless --force is given. Needs root (debootstrap creates device nodes and chroots).
set -euo pipefail

readonly IMAGE="${DNSFAILOVER_BASE_IMAGE:-dnsfailover-base:bookworm}"
readonly SUITE=bookworm
ROOT_DIR=""

die() { echo "base-image: $*" >&2; exit 1; }
log() { echo "base-image: $*" >&2; }

# Print the Debian archive URI from the host's apt sources, or deb.debian.org.
host_debian_mirror() {
    local uri
    uri=$(
        cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources \
            2>/dev/null |
            grep -v '^[[:space:]]*#' |
            grep -Eo '(https?://[^ ]+/debian)/?( |$)' |
            grep -v -- '-security' | head -n1 | tr -d ' '
    ) || true
    echo "${uri:-http://deb.debian.org/debian}"
}

# Write the apt sources of the image: main, updates and security, all from the same host.
write_sources() {
    local root=$1 mirror=$2
    local security="${mirror%/debian}/debian-security"
    cat >"$root/etc/apt/sources.list" <<SOURCES
deb $mirror $SUITE main
deb $mirror $SUITE-updates main
deb $security $SUITE-security main
SOURCES
}

# Keep apt's caches out of image layers, as Debian's official images do.
write_apt_docker_config() {
    local root=$1
    cat >"$root/etc/apt/apt.conf.d/docker-clean" <<'APT'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
APT
    echo 'Acquire::Languages "none";' >"$root/etc/apt/apt.conf.d/docker-no-languages"
}

main() {
    local force=false
    case "${1:-}" in
        --force) force=true ;;
        "") ;;
        *) die "unknown argument '$1' (usage: deploy/docker/base-image.sh [--force])" ;;
    esac
    command -v docker >/dev/null || die "docker is not installed"
    if ! $force && docker image inspect "$IMAGE" >/dev/null 2>&1; then
        log "$IMAGE already exists (use --force to rebuild)"
        return 0
    fi
    [[ $(id -u) -eq 0 ]] || die "debootstrap needs root: run 'sudo deploy/docker/base-image.sh'"
    command -v debootstrap >/dev/null || die "debootstrap is missing: apt-get install debootstrap"

    local mirror root
    mirror="${DNSFAILOVER_DEBIAN_MIRROR:-$(host_debian_mirror)}"
    root=$(mktemp -d /tmp/dnsfailover-base.XXXXXX)
    ROOT_DIR=$root
    trap 'rm -rf --one-file-system "$ROOT_DIR"' EXIT
    log "debootstrap $SUITE from $mirror into $root"
    debootstrap --variant=minbase "$SUITE" "$root" "$mirror" >"$root.log" 2>&1 ||
        { tail -n 20 "$root.log" >&2; die "debootstrap failed (full log: $root.log)"; }
    rm -f "$root.log"
    write_sources "$root" "$mirror"
    write_apt_docker_config "$root"
    rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb
    local previous
    previous=$(docker image inspect -f '{{.Id}}' "$IMAGE" 2>/dev/null || true)
    log "importing as $IMAGE"
    tar --numeric-owner -C "$root" -c . |
        docker import --change 'CMD ["/bin/bash"]' --change 'ENV LANG=C.UTF-8' - "$IMAGE" >/dev/null
    log "built $IMAGE"
    # Drop the image this one replaces, unless lab images still build on it.
    if [[ -n "$previous" && "$previous" != "$(docker image inspect -f '{{.Id}}' "$IMAGE")" ]]; then
        docker rmi "$previous" >/dev/null 2>&1 || true
    fi
}

main "$@"
