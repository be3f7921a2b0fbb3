#!/usr/bin/env bash
# Build the sessionbook image with podman and prove it: migrate, serve, create and read a booking.
#
# For a machine without a Docker engine or registry access (CI here): the base image is a
# Debian bookworm root made by mmdebstrap, and the built image's files are run with chroot,
# because `podman run` is not permitted. Needs root, podman, mmdebstrap, curl, psql and a
# PostgreSQL at 127.0.0.1:5432 that trusts the user postgres. See docs/deployment-image.md.
#
# SESSIONBOOK_IMAGE_CACHE  where the base root filesystem is kept between runs
#                          (default ~/.cache/sessionbook-image); delete it to rebuild the base.
# SESSIONBOOK_IMAGE        the tag to build (default localhost/sessionbook:ci).
# SESSIONBOOK_CA_BUNDLE    certificates the build trusts for PyPI
#                          (default /etc/ssl/certs/ca-certificates.crt, the machine's own).
set -euo pipefail
cd "$(dirname "$0")/.."

CACHE_DIR="${SESSIONBOOK_IMAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sessionbook-image}"
IMAGE="${SESSIONBOOK_IMAGE:-localhost/sessionbook:ci}"
CA_BUNDLE="${SESSIONBOOK_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"
SUITE=bookworm
BASE_PACKAGES=python3,python3-venv,ca-certificates
PG_HOST=127.0.0.1
PG_PORT=5432

WORK_DIR="$(mktemp -d)"
SERVER_LOG="$WORK_DIR/server.log"
SERVER_PID=""
SERVER_MATCH=""
IMAGE_ROOT=""
DATABASE=""

log() { printf 'build-image: %s\n' "$*" >&2; }

fail() {
  printf 'build-image: FAILED: %s\n' "$*" >&2
  if [[ -s "$SERVER_LOG" ]]; then
    printf 'build-image: last lines of the server log:\n' >&2
    tail -n 40 "$SERVER_LOG" >&2
  fi
  exit 1
}

# The server runs under a backgrounded shell function, so $SERVER_PID is that shell's pid, not
# the server's: the server itself is found by its command line (its port is ours alone).
server_running() {
  kill -0 "$SERVER_PID" 2>/dev/null || pgrep -f -- "$SERVER_MATCH" >/dev/null
}

stop_server() {
  [[ -n "$SERVER_PID" ]] || return 0
  pkill -TERM -f -- "$SERVER_MATCH" 2>/dev/null || true
  kill -TERM "$SERVER_PID" 2>/dev/null || true
  for _ in $(seq 1 40); do
    server_running || break
    sleep 0.5
  done
  if server_running; then
    pkill -KILL -f -- "$SERVER_MATCH" 2>/dev/null || true
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
    return 1
  fi
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""
}

psql_admin() {
  timeout 60 psql -X -q -v ON_ERROR_STOP=1 -h "$PG_HOST" -p "$PG_PORT" -U postgres -d postgres "$@"
}

cleanup() {
  local status=$?
  stop_server || log "the server ignored SIGTERM for 20 s and was killed"
  if [[ -n "$IMAGE_ROOT" ]]; then
    podman image unmount "$IMAGE" >/dev/null || log "could not unmount $IMAGE"
  fi
  if [[ -n "$DATABASE" ]]; then
    psql_admin -c "DROP DATABASE IF EXISTS \"$DATABASE\" WITH (FORCE)" \
      || log "could not drop the database $DATABASE"
  fi
  rm -rf "$WORK_DIR"
  exit "$status"
}
trap cleanup EXIT
trap 'fail "interrupted"' INT TERM

for tool in podman mmdebstrap curl psql pg_isready unshare chroot sha256sum pgrep pkill; do
  command -v "$tool" >/dev/null || fail "$tool is missing (apt-get install podman mmdebstrap curl postgresql-client)"
done
[[ "$(id -u)" == 0 ]] || fail "run as root: mmdebstrap, podman image mount and chroot need it"
timeout 10 pg_isready -q -h "$PG_HOST" -p "$PG_PORT" \
  || fail "PostgreSQL is not accepting connections at $PG_HOST:$PG_PORT"

started=$SECONDS

# 1. The base: a Debian root with python3, made once and kept in the cache directory.
mkdir -p "$CACHE_DIR"
base_tar="$CACHE_DIR/debian-$SUITE-$(printf '%s' "$BASE_PACKAGES" | sha256sum | cut -c1-12).tar"
if [[ ! -s "$base_tar" ]]; then
  log "making the Debian $SUITE base with mmdebstrap (once; kept as $base_tar)"
  timeout 900 mmdebstrap --quiet --variant=minbase --format=tar --include="$BASE_PACKAGES" \
    "$SUITE" "$base_tar.partial" >"$WORK_DIR/mmdebstrap.log" 2>&1 \
    || { tail -n 30 "$WORK_DIR/mmdebstrap.log" >&2; rm -f "$base_tar.partial"; fail "mmdebstrap"; }
  mv "$base_tar.partial" "$base_tar"
fi
# The tag names the tar's content, so an unchanged base keeps podman's build cache warm.
base_image="localhost/sessionbook-base:$SUITE-$(sha256sum "$base_tar" | cut -c1-12)"
if ! podman image exists "$base_image"; then
  log "importing $base_tar as $base_image"
  timeout 300 podman import --quiet "$base_tar" "$base_image" >/dev/null \
    || fail "podman import of $base_tar"
fi

# 2. The image, from the repository's Dockerfile and uv.lock.
build_args=(--isolation chroot --format docker --build-arg "BASE_IMAGE=$base_image" -t "$IMAGE")
if [[ -s "$CA_BUNDLE" ]]; then
  build_args+=(--secret "id=ca-certificates,src=$CA_BUNDLE")
fi
log "building $IMAGE on $base_image"
timeout 1200 podman build "${build_args[@]}" . >"$WORK_DIR/build.log" 2>&1 \
  || { tail -n 40 "$WORK_DIR/build.log" >&2; fail "podman build"; }
log "built $IMAGE in $((SECONDS - started)) s"
# Each rebuild leaves the previous image and build stage untagged (~0.8 GB): drop those older
# than a day, keeping the recent ones that hold the dependency layer's cache.
podman image prune --force --filter until=24h >/dev/null 2>&1 || log "could not prune old images"

# 3. The image's own files, run with chroot as the image's user, in a mount namespace of their
#    own so that /proc, /dev and a writable /tmp vanish with the process.
IMAGE_ROOT="$(timeout 60 podman image mount "$IMAGE")" || fail "podman image mount $IMAGE"
[[ -x "$IMAGE_ROOT/opt/sessionbook/bin/sessionbook" ]] \
  || fail "the image has no /opt/sessionbook/bin/sessionbook"
image_user="$(podman image inspect --format '{{.Config.User}}' "$IMAGE")"
userspec="$(awk -F: -v user="$image_user" '$1 == user { print $3 ":" $4 }' "$IMAGE_ROOT/etc/passwd")"
[[ -n "$userspec" ]] || fail "the image's user '$image_user' is not in its /etc/passwd"
workdir="$(podman image inspect --format '{{.Config.WorkingDir}}' "$IMAGE")"
mapfile -t image_env < <(podman image inspect --format '{{range .Config.Env}}{{println .}}{{end}}' "$IMAGE" | sed '/^$/d')

run_in_image() {
  # Replaces itself (unshare, sh, chroot, env) with the command: its pid is the command's pid.
  unshare --mount /bin/sh -c '
    root=$1 userspec=$2 workdir=$3; shift 3
    mount -t proc proc "$root/proc" && mount --rbind /dev "$root/dev" \
      && mount -t tmpfs -o mode=1777,size=64m tmpfs "$root/tmp" \
      && exec chroot --userspec="$userspec" "$root" /usr/bin/env -i -C "$workdir" "$@"
  ' run-in-image "$IMAGE_ROOT" "$userspec" "${workdir:-/}" "${image_env[@]}" HOME="${workdir:-/}" "$@"
}

# 4. A fresh database: migrate as its owner, serve as the NOINHERIT login, as compose.yaml does.
DATABASE="sessionbook_image_$(date +%s)_$$"
psql_admin -c "CREATE DATABASE \"$DATABASE\"" || fail "could not create the database $DATABASE"
owner_url="postgresql+asyncpg://postgres@$PG_HOST:$PG_PORT/$DATABASE"
log "sessionbook migrate (database $DATABASE)"
run_in_image DATABASE_URL="$owner_url" timeout 180 sessionbook migrate \
  >"$WORK_DIR/migrate.log" 2>&1 || { tail -n 30 "$WORK_DIR/migrate.log" >&2; fail "sessionbook migrate"; }
app_password="$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
PGHOST="$PG_HOST" PGPORT="$PG_PORT" PGUSER=postgres PGDATABASE="$DATABASE" \
  PGOPTIONS="-c client_min_messages=warning" APP_DB_PASSWORD="$app_password" \
  timeout 60 sh deploy/create-app-login.sh >/dev/null \
  || fail "deploy/create-app-login.sh"
app_url="postgresql+asyncpg://sessionbook_app:$app_password@$PG_HOST:$PG_PORT/$DATABASE"

port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
base_url="http://127.0.0.1:$port"
log "sessionbook serve on $base_url"
SERVER_MATCH="sessionbook serve --host 127.0.0.1 --port $port"
run_in_image DATABASE_URL="$app_url" SITE_URL="$base_url" \
  sessionbook serve --host 127.0.0.1 --port "$port" >"$SERVER_LOG" 2>&1 &
SERVER_PID=$!

ready=""
for _ in $(seq 1 120); do
  kill -0 "$SERVER_PID" 2>/dev/null || fail "the server exited before it was ready"
  code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$base_url/readyz" || true)"
  if [[ "$code" == 200 ]]; then ready=1; break; fi
  sleep 0.5
done
[[ -n "$ready" ]] || fail "/readyz did not answer 200 within 60 s (last: ${code:-none})"

# 5. One booking, created and read back through the public API.
code="$(curl -sS -o "$WORK_DIR/create.json" -w '%{http_code}' --max-time 15 \
  -H 'Content-Type: application/json' \
  -d '{"packageId":"discovery","customerName":"Image Test","customerEmail":"image@example.com"}' \
  "$base_url/functions/v1/booking-create")" || fail "booking-create: no answer"
[[ "$code" == 201 ]] || fail "booking-create answered $code: $(head -c 500 "$WORK_DIR/create.json")"
read -r booking_id booking_token < <(python3 -c '
import json, sys
created = json.load(open(sys.argv[1]))
print(created["bookingId"], created["bookingToken"])
' "$WORK_DIR/create.json") || fail "booking-create: no bookingId and bookingToken in its answer"

code="$(curl -sS -o "$WORK_DIR/status.json" -w '%{http_code}' --max-time 15 \
  -H "X-Booking-Token: $booking_token" "$base_url/functions/v1/booking-status")" \
  || fail "booking-status: no answer"
[[ "$code" == 200 ]] || fail "booking-status answered $code: $(head -c 500 "$WORK_DIR/status.json")"
python3 -c '
import json, sys
status = json.load(open(sys.argv[1]))
expected = {"id": sys.argv[2], "packageId": "discovery", "customerEmail": "image@example.com"}
wrong = {key: status.get(key) for key, value in expected.items() if status.get(key) != value}
sys.exit(f"booking-status disagrees with booking-create: {wrong}" if wrong else 0)
' "$WORK_DIR/status.json" "$booking_id" || fail "booking-status does not show the booking just made"

stop_server || fail "the server did not stop within 20 s of SIGTERM"
log "OK: $IMAGE migrated, served, booked and read back booking $booking_id ($((SECONDS - started)) s)"
