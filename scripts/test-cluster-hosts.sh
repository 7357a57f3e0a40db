#!/usr/bin/env bash
# `sugang cluster`'s tests start stand-in machines (network and mount namespaces, as root) with
# Debian's OpenSSH server, and run nginx and HAProxy as the API load balancer; the chaos bench
# puts HAProxy in front of its nodes and drops packets with iptables. Install them when
# missing; fail clearly when that is not possible: the tests never skip.
set -euo pipefail
say() { echo "test-cluster-hosts: $*"; }
fail() { echo "test-cluster-hosts: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || fail "the cluster tests create network namespaces: run make test as root"
missing=()
[ -x /usr/sbin/sshd ] || missing+=(openssh-server)
[ -x /usr/sbin/nginx ] || missing+=(nginx)
[ -e /usr/lib/nginx/modules/ngx_stream_module.so ] || missing+=(libnginx-mod-stream)
[ -x /usr/sbin/haproxy ] || missing+=(haproxy)
command -v sudo >/dev/null || missing+=(sudo)
command -v ip >/dev/null || missing+=(iproute2)
command -v iptables >/dev/null || missing+=(iptables)
if [ ${#missing[@]} -eq 0 ]; then say "OpenSSH, nginx and HAProxy are installed"; exit 0; fi
command -v apt-get >/dev/null || fail "install ${missing[*]} yourself (no apt-get here)"
say "installing ${missing[*]} from Debian's packages"
apt-get update -qq || fail "apt-get update failed: install ${missing[*]}"
# the packages' own services are not wanted: the tests start their own, inside namespaces
printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
trap 'rm -f /usr/sbin/policy-rc.d' EXIT
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null \
  || fail "apt-get install ${missing[*]} failed"
say "installed ${missing[*]}"
