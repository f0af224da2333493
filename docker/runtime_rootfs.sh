#!/usr/bin/env bash
# Lays out the whole root filesystem of a runtime image (FROM scratch) for one
# binary: the stripped binary, every shared library `ldd` says it loads (and
# those it opens at run time, given with --dlopen, with theirs), the ELF
# interpreter, and /out owned by the image's user. Run in the build stage
# of docker/*.Dockerfile; deploy.dockerfiles runs it on the host's binaries.
set -euo pipefail

PROG="$(basename "$0")"
usage() {
  cat <<'EOF'
Usage: docker/runtime_rootfs.sh [--dlopen SONAME]... BINARY ROOTFS

Creates ROOTFS (it must not exist) holding:
  /usr/local/bin/NAME        BINARY, stripped
  /lib/..., /lib64/...       each shared library and the ELF interpreter of
                             BINARY, at the path the loader finds it, as a
                             regular file (symlinks resolved)
  --dlopen SONAME            also a library BINARY loads at run time (dlopen,
                             which ldd cannot see), found with ldconfig, and
                             each library it needs; e.g. libcurl.so.4, which
                             --otlp-endpoint loads
  /out                       empty, owned by 65532:65532 (the image's USER),
                             where the driver writes unless a volume is mounted
Then prints each file with its size and the total.
EOF
}
die() {
  echo "${PROG}: error: $*" >&2
  exit 1
}

dlopened=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --dlopen)
      [[ $# -ge 2 && -n "$2" ]] || die "--dlopen needs a library's soname"
      dlopened+=("$2")
      shift 2
      ;;
    -*) die "unknown argument '$1' (see --help)" ;;
    *) break ;;
  esac
done
[[ $# -eq 2 ]] || die "want BINARY ROOTFS (see --help)"
binary="$1"
rootfs="$2"
[[ -f "$binary" && -x "$binary" ]] || die "not an executable file: ${binary}"
[[ ! -e "$rootfs" ]] || die "${rootfs} exists already"
for tool in ldd ldconfig strip; do
  command -v "$tool" >/dev/null || die "needs ${tool} (libc-bin, binutils)"
done

# ldd prints "name => /path (addr)" per library and "/path (addr)" for the
# interpreter; "not found" or "not a dynamic executable" must fail here, not
# at the first start of the container.
needed() { # FILE: the paths of FILE's libraries and interpreter, one a line
  local listing
  if ! listing="$(ldd "$1" 2>&1)"; then
    die "ldd $1 failed: ${listing}"
  fi
  if grep -q 'not found' <<<"$listing"; then
    die "ldd $1: missing libraries: $(grep 'not found' <<<"$listing" | tr -s ' \t' ' ')"
  fi
  awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' <<<"$listing"
}
mapfile -t libs < <(needed "$binary")
((${#libs[@]})) || die "ldd ${binary} lists no libraries (a static binary needs no runtime_rootfs.sh)"
for soname in "${dlopened[@]}"; do
  # The path the loader would open: ldconfig's cache, this machine's arch.
  # awk reads to the end: an early exit would SIGPIPE ldconfig, and
  # pipefail would make that this script's exit (141).
  path="$(ldconfig -p | awk -v n="$soname" '$1 == n && /x86-64|aarch64/ && !p { p = $NF } END { print p }')"
  [[ -n "$path" ]] || die "--dlopen ${soname}: not in ldconfig's cache (is its package installed?)"
  mapfile -t more < <(needed "$path")
  libs+=("$path" "${more[@]}")
done
mapfile -t libs < <(printf '%s\n' "${libs[@]}" | sort -u)

tmp="${rootfs}.tmp.$$"
trap 'rm -rf -- "$tmp"' EXIT
mkdir -p "${tmp}/usr/local/bin" "${tmp}/out"
strip -o "${tmp}/usr/local/bin/$(basename "$binary")" "$binary"
for lib in "${libs[@]}"; do
  mkdir -p "${tmp}$(dirname "$lib")"
  cp -L "$lib" "${tmp}${lib}"
done
if [[ "$(id -u)" == 0 ]]; then
  chown 65532:65532 "${tmp}/out"
else # deploy.dockerfiles as a developer; image builds run as root
  echo "${PROG}: not root: /out left owned by uid $(id -u)" >&2
fi
mv "$tmp" "$rootfs"
trap - EXIT
(cd "$rootfs" && find . -type f -printf '%s\t/%P\n' | sort -k2 &&
  find . -type f -printf '%s\n' | awk '{ s += $1 } END { printf "%d\ttotal bytes\n", s }')
