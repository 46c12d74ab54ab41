#!/usr/bin/env bash
# One-time (and idempotent) set-up of a Debian machine for orchestrate: the system
# packages it drives and tests against, the podman settings that work on these machines,
# QEMU binfmt handlers for foreign architectures, then npm ci and the build.
# Each step checks first and does nothing when there is nothing to do.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1msetup:\033[0m %s\n' "$*"; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

PACKAGES=(podman buildah skopeo runc uidmap fuse-overlayfs qemu-user-static binfmt-support
  docker-registry openssh-server openssh-client busybox-static apache2-utils jq iproute2 openssl)

# --- system packages -------------------------------------------------------------------
if [[ ! -f /etc/debian_version ]] || ! command -v dpkg-query >/dev/null 2>&1; then
  die "this is not Debian: install the equivalents of these with your package manager, then run npm ci && npm run build:
  ${PACKAGES[*]}
  (orchestrate itself needs only Node.js >= 20 and podman; the rest is for the end-to-end tests)"
fi
missing=()
for package in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$package")
done

if ((${#missing[@]} > 0)); then
  [[ $(id -u) -eq 0 ]] || die "missing system packages: ${missing[*]}
  run 'npm run setup' as root, or install them yourself: sudo apt-get install -y ${missing[*]}"
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Package scripts must not start daemons (sshd, docker-registry): the tests start their own,
  # and a daemon started here would hold CI's output open.
  policy=/usr/sbin/policy-rc.d
  had_policy=0; [[ -e $policy ]] && had_policy=1
  if ((had_policy == 0)); then printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod 755 "$policy"; fi
  trap '((had_policy == 0)) && rm -f "$policy"' EXIT
  for attempt in 1 2 3; do
    if apt-get update -q; then break; fi
    ((attempt == 3)) && die "apt-get update failed three times"
    sleep $((attempt * 5))
  done
  apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  say "system packages present"
fi

# --- podman settings that work here ----------------------------------------------------
# crun cannot raise rlimits without CAP_SYS_RESOURCE on these machines; runc can, with these ulimits.
if [[ $(id -u) -eq 0 && -d /etc/containers ]]; then
  dropin=/etc/containers/containers.conf.d/50-orchestrate.conf
  wanted='[engine]
runtime = "runc"

[containers]
default_ulimits = ["nofile=20000:20000", "nproc=20000:20000"]'
  if [[ ! -f $dropin || "$(cat "$dropin")" != "$wanted" ]]; then
    mkdir -p "$(dirname "$dropin")"
    printf '%s\n' "$wanted" >"$dropin"
    say "wrote $dropin (runc, ulimits)"
  fi
elif [[ ! -f /etc/containers/containers.conf.d/50-orchestrate.conf ]]; then
  say "warning: not root, so podman's runtime settings were not written; if podman fails with"
  say "  'setrlimit' errors, run 'npm run setup' once as root (it writes /etc/containers/containers.conf.d/50-orchestrate.conf)"
fi

# --- QEMU emulation of foreign architectures -------------------------------------------
if [[ $(id -u) -eq 0 ]] && command -v update-binfmts >/dev/null 2>&1; then
  if [[ ! -e /proc/sys/fs/binfmt_misc/register ]]; then
    if mount binfmt_misc -t binfmt_misc /proc/sys/fs/binfmt_misc 2>/dev/null; then
      say "mounted binfmt_misc"
    else
      say "warning: cannot mount binfmt_misc; foreign platforms will fail with 'exec format error'"
    fi
  fi
  if [[ -e /proc/sys/fs/binfmt_misc/register ]]; then
    enabled=()
    # Every architecture the planner may emulate (model/platform.ts), but this machine's own.
    native=$(uname -m)
    for arch in aarch64 x86_64 s390x ppc64le arm riscv64 i386 mips64el; do
      [[ $arch == "$native" ]] && continue
      [[ $arch == i386 && $native == x86_64 ]] && continue # runs natively
      if [[ ! -e /proc/sys/fs/binfmt_misc/qemu-$arch ]]; then
        if update-binfmts --enable "qemu-$arch" >/dev/null 2>&1; then enabled+=("$arch"); else
          say "warning: could not enable qemu-$arch emulation"
        fi
      fi
    done
    ((${#enabled[@]} == 0)) || say "enabled QEMU emulation for ${enabled[*]}"
  fi
fi

# --- busybox packages for the end-to-end tests' base images ----------------------------
# No registry on the internet is reachable from the tests, so they build their multi-arch
# base image offline from these .debs (packages/cli/test/e2e/fixture/base-images.ts).
# This is the only download the tests need; it comes from Debian's mirrors.
DEB_CACHE=/var/cache/orchestrate/debs
DEB_ARCHES=(amd64 arm64 s390x)
missing_debs=()
for arch in "${DEB_ARCHES[@]}"; do
  compgen -G "$DEB_CACHE/busybox-static_*_$arch.deb" >/dev/null || missing_debs+=("$arch")
done
if ((${#missing_debs[@]} > 0)); then
  if [[ $(id -u) -ne 0 ]]; then
    say "warning: busybox-static .debs for ${missing_debs[*]} are missing from $DEB_CACHE;"
    say "  the end-to-end tests need them: run 'npm run setup' once as root"
  else
    say "downloading busybox-static for ${missing_debs[*]} into $DEB_CACHE"
    native_arch=$(dpkg --print-architecture)
    foreign=$(dpkg --print-foreign-architectures)
    added=0
    for arch in "${missing_debs[@]}"; do
      [[ $arch == "$native_arch" ]] && continue
      if ! grep -qx "$arch" <<<"$foreign"; then dpkg --add-architecture "$arch"; added=1; fi
    done
    # An index for one foreign architecture sometimes fails to download; retry, and after
    # three failures try the download anyway (the indexes that did arrive may be enough).
    if ((added == 1)) || ! apt-get download -q --print-uris "${missing_debs[@]/#/busybox-static:}" >/dev/null 2>&1; then
      for attempt in 1 2 3; do
        if apt-get update -qq >/dev/null; then break; fi
        if ((attempt == 3)); then say "warning: apt-get update failed three times; trying the download anyway"; break; fi
        sleep $((attempt * 5))
      done
    fi
    mkdir -p "$DEB_CACHE"
    for arch in "${missing_debs[@]}"; do
      (cd "$DEB_CACHE" && apt-get download -q -o APT::Sandbox::User=root "busybox-static:$arch" >/dev/null) ||
        die "could not download busybox-static:$arch into $DEB_CACHE"
    done
  fi
fi

# --- node modules and build ------------------------------------------------------------
lock_hash=$(sha256sum package-lock.json | cut -d' ' -f1)
stamp=node_modules/.orchestrate-setup
if [[ ! -f $stamp || "$(cat "$stamp")" != "$lock_hash" ]]; then
  say "npm ci"
  npm ci --no-audit --no-fund
  printf '%s\n' "$lock_hash" >"$stamp"
else
  say "node modules match package-lock.json"
fi
say "building"
npm run build --silent
say "done: try 'npm test', then 'cd examples/hello && npx orchestrate plan'"
