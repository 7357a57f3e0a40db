#!/bin/sh
# STAND-IN for K3s's install.sh (get.k3s.io), for sugang's tests only: NOT the real script.
# Like the real one with INSTALL_K3S_SKIP_DOWNLOAD=true, it expects /usr/local/bin/k3s, writes
# the kubectl link and the killall/uninstall scripts, and starts K3s (here: the stand-in's
# daemon for a server; a join for an agent). It records how it was called.
set -e
mkdir -p /var/lib/rancher/stand-in
{
  echo "args=$*"
  env | grep -E '^(INSTALL_K3S_|K3S_)' | sort
  echo "---"
} >> /var/lib/rancher/stand-in/install.log
# what every process on the machine was called with, while this runs
ps -eo args >> /var/lib/rancher/stand-in/ps.log
# a test breaks a machine by leaving this file
if [ -e /var/lib/rancher/stand-in/fail-next-install ]; then
  echo "[ERROR]  simulated failure: $(cat /var/lib/rancher/stand-in/fail-next-install)" >&2
  exit 1
fi
[ "$INSTALL_K3S_SKIP_DOWNLOAD" = true ] || { echo "stand-in: only the air-gapped path is played" >&2; exit 1; }
[ -x /usr/local/bin/k3s ] || { echo "[ERROR]  /usr/local/bin/k3s is missing" >&2; exit 1; }
[ -r /etc/rancher/k3s/config.yaml ] || { echo "stand-in: no config.yaml" >&2; exit 1; }
# Like the real script, K3s is (re)started only when the binary, the unit or its env file
# changed, or INSTALL_K3S_FORCE_RESTART=true: config.yaml is not among them ("No change
# detected so skipping service start"). Here the "unit" is INSTALL_K3S_EXEC and the env file
# the K3S_* variables.
state=/var/lib/rancher/stand-in/unit.sha256
now="$( { sha256sum /usr/local/bin/k3s | cut -d' ' -f1; echo "$INSTALL_K3S_EXEC"; env | grep -E '^K3S_' | sort; } | sha256sum | cut -d' ' -f1)"
running=""
pidfile=/var/lib/rancher/k3s/stand-in.pid
if [ -s $pidfile ] && kill -0 "$(cat $pidfile)" 2>/dev/null; then running=yes; fi
if [ "${INSTALL_K3S_EXEC%% *}" = agent ] && [ -e /var/lib/rancher/k3s/agent/joined ]; then running=yes; fi
if [ -n "$running" ] && [ -s $state ] && [ "$(cat $state)" = "$now" ] && [ "$INSTALL_K3S_FORCE_RESTART" != true ]; then
  echo "[INFO]  No change detected so skipping service start"
  exit 0
fi
echo "$now" > $state
ln -sf k3s /usr/local/bin/kubectl
cat > /usr/local/bin/k3s-killall.sh <<'KILL'
#!/bin/sh
pidfile=/var/lib/rancher/k3s/stand-in.pid
if [ -s $pidfile ]; then
  pid=$(cat $pidfile); kill "$pid" 2>/dev/null
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
fi
rm -f $pidfile; true
KILL
chmod 755 /usr/local/bin/k3s-killall.sh
role=${INSTALL_K3S_EXEC%% *}
if [ "$role" = agent ]; then uninstall=k3s-agent-uninstall.sh; else uninstall=k3s-uninstall.sh; fi
cat > /usr/local/bin/$uninstall <<UNINSTALL
#!/bin/sh
/usr/local/bin/k3s-killall.sh
rm -rf /etc/rancher/k3s /var/lib/rancher/k3s
rm -f /usr/local/bin/k3s /usr/local/bin/kubectl /usr/local/bin/k3s-killall.sh /usr/local/bin/systemctl /usr/local/bin/$uninstall
UNINSTALL
chmod 755 /usr/local/bin/$uninstall
service=k3s; [ "$role" = agent ] && service=k3s-agent
# no systemd in the test machines: a stand-in systemctl starts and stops the stand-in
cat > /usr/local/bin/systemctl <<'SYSTEMCTL'
#!/bin/sh
# STAND-IN for systemctl (tests only): start, stop and restart of k3s and k3s-agent
verb=$1; unit=${2%.service}
case "$unit" in k3s|k3s-agent) ;; *) echo "stand-in systemctl: $* is not played" >&2; exit 1;; esac
echo "$(date +%s.%N) $verb $unit" >> /var/lib/rancher/stand-in/systemctl.log
case "$verb" in
  stop) exec /usr/local/bin/k3s-killall.sh ;;
  is-active) [ -s /var/lib/rancher/k3s/stand-in.pid ] && kill -0 "$(cat /var/lib/rancher/k3s/stand-in.pid)" 2>/dev/null && echo active && exit 0; echo inactive; exit 3 ;;
  start|restart) ;;
  *) echo "stand-in systemctl: $verb is not played" >&2; exit 1 ;;
esac
/usr/local/bin/k3s-killall.sh
if [ "$unit" = k3s-agent ]; then exec /usr/local/bin/k3s agent; fi
rm -f /var/lib/rancher/k3s/stand-in.ready
setsid /usr/local/bin/k3s server </dev/null >>/var/lib/rancher/stand-in/server.log 2>&1 &
for _ in $(seq 100); do
  [ -s /var/lib/rancher/k3s/stand-in.ready ] && exit 0
  sleep 0.1
done
echo "Job for $unit.service failed: the stand-in k3s server did not start:" >&2
tail -n 5 /var/lib/rancher/stand-in/server.log >&2
exit 1
SYSTEMCTL
chmod 755 /usr/local/bin/systemctl
/usr/local/bin/systemctl restart $service
