#!/usr/bin/env bash
# `make docker-check`: build the image, start it with Postgres and Redis from compose.yaml, run
# `flask db upgrade` and `flask shop check` inside it, and ask /healthz and /readyz through the
# published port. Skips (exit 0) with a message where Docker or its daemon is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

skip() {
    echo "docker-check skipped: $1"
    exit 0
}

command -v docker >/dev/null 2>&1 || skip "docker is not installed (Debian: apt-get install docker.io docker-compose)"
docker info >/dev/null 2>&1 || skip "the Docker daemon is not reachable (docker info failed): start it, or run as a member of the docker group"
if docker compose version >/dev/null 2>&1; then
    compose=(docker compose)
elif command -v docker-compose >/dev/null 2>&1; then
    compose=(docker-compose)
else
    skip "neither the compose plugin (docker compose) nor docker-compose is installed"
fi

workdir=$(mktemp -d)
project="shopcheck$$"
host=shop.localhost
token() { python3 -c "import secrets; print(secrets.token_hex($1))"; }
# A port of our own, so a shop already serving on 8000 does not get in the way.
SHOP_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export SHOP_PORT SHOP_ENV_FILE="$workdir/check.env"
cat >"$SHOP_ENV_FILE" <<ENV
SHOP_SECRET_KEY=$(token 32)
SHOP_BASE_URL=https://$host
POSTGRES_PASSWORD=$(token 16)
ENV

dc() {
    "${compose[@]}" --project-name "$project" --env-file "$SHOP_ENV_FILE" --file compose.yaml "$@"
}

passed=""
finish() {
    if [ -z "$passed" ]; then
        echo "== docker-check FAILED; the containers' last log lines =="
        dc logs --tail=40 || true
    fi
    dc down --volumes --remove-orphans >/dev/null 2>&1 || true
    rm -rf "$workdir"
}
trap finish EXIT

echo "== building the image and starting the shop, Postgres and Redis (project $project) =="
dc build
dc up -d

echo "== waiting for the container's own healthcheck =="
container=$(dc ps -q shop)
health=""
for _ in $(seq 90); do
    health=$(docker inspect --format '{{.State.Health.Status}}' "$container")
    [ "$health" = healthy ] && break
    [ "$health" = unhealthy ] && break
    sleep 2
done
echo "health: $health"
[ "$health" = healthy ]

echo "== the shop runs as a non-root user =="
uid=$(dc exec -T shop id -u)
echo "uid $uid"
[ "$uid" != 0 ]

echo "== flask db upgrade (the migrate service ran it; again must be a no-op) =="
dc exec -T shop flask db upgrade

echo "== flask shop check (with an SMTP sink in the container for the mail item) =="
dc exec -T -d shop python3 -W ignore -m smtpd -n -c DebuggingServer 127.0.0.1:2525
sleep 1
report=$(dc exec -T -e SHOP_MAIL_SERVER=127.0.0.1 -e SHOP_MAIL_PORT=2525 shop flask shop check) || true
echo "$report"
# An image has no Stripe account of its own: that item may fail, no other.
if echo "$report" | grep '^FAIL' | grep -Ev '^FAIL +stripe +SHOP_STRIPE_SECRET_KEY is not set'; then
    echo "flask shop check failed on the items above"
    exit 1
fi
echo "$report" | grep -q ' OK$'

for path in /healthz /readyz; do
    echo "== GET $path through 127.0.0.1:$SHOP_PORT =="
    curl --fail --silent --show-error --max-time 10 --header "Host: $host" "http://127.0.0.1:$SHOP_PORT$path"
    echo
done

passed=yes
echo "docker-check passed"
