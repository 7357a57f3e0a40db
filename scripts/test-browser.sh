#!/usr/bin/env bash
# The browser tests need Debian's Chromium and a font with Hangul; install them (as root) when
# missing, and fail clearly when that is not possible: the tests never skip.
set -euo pipefail
say() { echo "test-browser: $*"; }
fail() { echo "test-browser: $*" >&2; exit 1; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else return 1; fi; }

missing=()
command -v chromium >/dev/null || missing+=(chromium)
fc-list 2>/dev/null | grep -qi "noto sans cjk" || missing+=(fonts-noto-cjk)
if [ ${#missing[@]} -eq 0 ]; then say "Chromium and a Hangul font are installed"; exit 0; fi
command -v apt-get >/dev/null || fail "install ${missing[*]} yourself (no apt-get here)"
say "installing ${missing[*]} from Debian's packages"
as_root apt-get update -qq || fail "apt-get update failed (need root): install ${missing[*]}"
DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >/dev/null \
  || fail "apt-get install ${missing[*]} failed"
