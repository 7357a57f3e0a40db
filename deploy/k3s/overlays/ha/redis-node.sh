#!/bin/sh
# One member of the Redis group: `redis-node.sh redis` runs its Redis, `redis-node.sh sentinel`
# its Sentinel. The primary is the one the other members' sentinels name (a group of them);
# when none of them answers, the one this member's own sentinel last knew (its file, on the
# volume); only a member that never knew one, after waiting a few seconds for the others (a
# new group), takes the first member.
#
# SELF     this member's address, as the others reach it
# MEMBERS  every member's address, separated by spaces (the first is a new group's primary)
# MASTER_NAME, DATA (a persistent directory, shared by the member's two containers)
# REDIS_PASSWORD  every Redis's and Sentinel's password (requirepass), the replicas' masterauth,
#          the sentinels' auth-pass (to the Redis servers) and sentinel-pass (to each other)
set -eu
: "${REDIS_PASSWORD:?every member asks for a password}"
export REDISCLI_AUTH="$REDIS_PASSWORD"  # redis-cli below authenticates with it

primary_now() {
    # A peer's word counts only when its sentinel knows other sentinels: a member that lost
    # its volume starts a sentinel of its own, and must not lead the others to its empty Redis.
    for round in 1 2 3; do
        for member in $MEMBERS; do
            [ "$member" = "$SELF" ] && continue
            view=$(timeout 2 redis-cli -h "$member" -p 26379 --raw \
                sentinel master "$MASTER_NAME" 2>/dev/null) || view=""
            address=$(printf '%s\n' "$view" | awk 'previous == "ip" { print; exit } { previous = $0 }')
            others=$(printf '%s\n' "$view" | awk 'previous == "num-other-sentinels" { print; exit } { previous = $0 }')
            case "$others" in "" | *[!0-9]*) others=0 ;; esac
            if [ -n "$address" ] && [ "$others" -gt 0 ]; then
                echo "$address"
                return
            fi
        done
        # "sentinel monitor <name> <host> <port> <quorum>", as Sentinel last rewrote it
        known=$(awk -v name="$MASTER_NAME" '$1 == "sentinel" && $2 == "monitor" && $3 == name { print $4 }' \
            "$DATA/sentinel.conf" 2>/dev/null || true)
        if [ -n "$known" ]; then
            echo "$known"
            return
        fi
        [ "$round" -lt 3 ] && sleep 2  # the others may be starting too
    done
    set -- $MEMBERS
    echo "$1"
}

run_redis() {
    primary=$(primary_now)
    set -- --port 6379 --dir "$DATA" --appendonly yes --protected-mode no \
        --maxmemory 256mb --replica-announce-ip "$SELF" \
        --requirepass "$REDIS_PASSWORD" --masterauth "$REDIS_PASSWORD"
    if [ "$primary" != "$SELF" ]; then
        echo "replica of $primary"
        set -- "$@" --replicaof "$primary" 6379
    else
        echo "primary"
    fi
    exec redis-server "$@"
}

run_sentinel() {
    # Sentinel rewrites its file with what it learns (the current primary, the other
    # sentinels), so a restarted sentinel starts from what it knew.
    conf="$DATA/sentinel.conf"
    if [ ! -s "$conf" ]; then
        primary=$(primary_now)
        printf '%s\n' \
            "port 26379" \
            "protected-mode no" \
            "sentinel resolve-hostnames yes" \
            "sentinel announce-hostnames yes" \
            "sentinel announce-ip $SELF" \
            "sentinel monitor $MASTER_NAME $primary 6379 2" \
            "sentinel down-after-milliseconds $MASTER_NAME 5000" \
            "sentinel failover-timeout $MASTER_NAME 10000" \
            "sentinel parallel-syncs $MASTER_NAME 1" > "$conf"
    fi
    # The password as the Secret has it now (the file keeps what it was given last): the
    # lines Sentinel rewrote are replaced, after "sentinel monitor" as they must be.
    awk '!/^(requirepass|user default) / && !/^sentinel (auth-pass|sentinel-pass) /' \
        "$conf" > "$conf.new"
    printf '%s\n' \
        "requirepass $REDIS_PASSWORD" \
        "sentinel sentinel-pass $REDIS_PASSWORD" \
        "sentinel auth-pass $MASTER_NAME $REDIS_PASSWORD" >> "$conf.new"
    mv "$conf.new" "$conf"
    exec redis-server "$conf" --sentinel
}

case "${1:-}" in
    redis) run_redis ;;
    sentinel) run_sentinel ;;
    *) echo "usage: $0 redis|sentinel" >&2; exit 2 ;;
esac
