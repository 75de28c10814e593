#!/usr/bin/env bash
# Deploys one image tag of the whole stack on this host, and rolls back when it fails.
#
#   scripts/deploy.sh <image-tag>   pull, migrate, start, wait for health; on failure start the previous tag again
#   scripts/deploy.sh --rollback    start the tag that was deployed before the current one
#
# Run from the deployment directory, which holds .env (secrets, IMAGE_REGISTRY; see .env.example),
# infrastructure/ and scripts/. Optional settings (environment or .env):
#   DEPLOY_PROFILE         low | high: adds infrastructure/docker-compose.<profile>.yml
#   DEPLOY_HEALTH_TIMEOUT  seconds to wait for every service to be healthy (default 180)
#   DEPLOY_POLL_INTERVAL   seconds between two looks at the services' health (default 3)
# State: .deploy/current-tag, .deploy/previous-tag and .deploy/history (one line per deployment).
#
# Migrations only move forward: a rollback restarts the previous images against the migrated
# schema, so every migration must keep the previous release working (expand, then contract later).
set -euo pipefail

cd "$(dirname "$0")/.."

STATE_DIR=.deploy
HEALTH_TIMEOUT=${DEPLOY_HEALTH_TIMEOUT:-180}
POLL_INTERVAL=${DEPLOY_POLL_INTERVAL:-3}

log() { printf '[deploy] %s\n' "$*"; }
die() { printf '[deploy] %s\n' "$*" >&2; exit 1; }

[ -f .env ] || die ".env is missing in $(pwd) (copy .env.example and fill in the secrets)"
if [ -z "${DEPLOY_PROFILE:-}" ]; then
  DEPLOY_PROFILE=$(sed -n 's/^DEPLOY_PROFILE=//p' .env | tail -n 1)
fi

compose_files=(-f infrastructure/docker-compose.yml)
case "${DEPLOY_PROFILE:-}" in
  '') ;;
  low | high) compose_files+=(-f "infrastructure/docker-compose.${DEPLOY_PROFILE}.yml") ;;
  *) die "DEPLOY_PROFILE must be low or high, not '${DEPLOY_PROFILE}'" ;;
esac

# Runs docker compose for the stack with IMAGE_TAG set to $1.
compose() {
  local tag=$1
  shift
  IMAGE_TAG="$tag" docker compose --env-file .env "${compose_files[@]}" "$@"
}

valid_tag() { [[ "$1" =~ ^[A-Za-z0-9._-]{1,128}$ ]]; }

read_state() { if [ -f "$STATE_DIR/$1" ]; then cat "$STATE_DIR/$1"; fi; }

record() {
  local tag=$1 previous
  previous=$(read_state current-tag)
  mkdir -p "$STATE_DIR"
  if [ -n "$previous" ] && [ "$previous" != "$tag" ]; then printf '%s\n' "$previous" > "$STATE_DIR/previous-tag"; fi
  printf '%s\n' "$tag" > "$STATE_DIR/current-tag"
  printf '%s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$tag" >> "$STATE_DIR/history"
}

# Prints every container that is not where it should be (running and healthy, or for the
# one-shot migrate: exited 0); prints nothing when all are.
not_ready() {
  local tag=$1 states
  states=$(compose "$tag" ps --all --format '{{.Service}} {{.State}} {{.Health}} {{.ExitCode}}') || {
    echo "docker compose ps failed"
    return
  }
  [ -n "$states" ] || { echo "no containers"; return; }
  # Without a health check the Health column is empty, leaving three fields.
  awk '$1 == "migrate" && $2 == "exited" && $NF == 0 { next }
       $2 == "running" && ($3 == "healthy" || NF == 3) { next }
       { print }' <<<"$states"
}

# Starts everything at $1 and waits until every service is healthy. Polls `ps` rather than
# using `up --wait`, whose handling of one-shot containers differs between Compose versions.
start_and_wait() {
  local tag=$1 pending deadline=$((SECONDS + HEALTH_TIMEOUT))
  compose "$tag" up -d --remove-orphans || return 1
  while :; do
    pending=$(not_ready "$tag")
    [ -z "$pending" ] && return 0
    # A container that stopped will not become healthy by waiting (restarts show as "restarting").
    if awk '$2 == "exited" || $2 == "dead" { found = 1 } END { exit !found }' <<<"$pending"; then
      log "stopped containers:"$'\n'"$pending"
      return 1
    fi
    if ((SECONDS >= deadline)); then
      log "not healthy after ${HEALTH_TIMEOUT}s:"$'\n'"$pending"
      return 1
    fi
    sleep "$POLL_INTERVAL"
  done
}

deploy() {
  local tag=$1 current
  valid_tag "$tag" || die "not an image tag: '$tag'"
  current=$(read_state current-tag)
  log "deploying $tag (running now: ${current:-nothing})"

  compose "$tag" pull --quiet
  log "applying migrations"
  compose "$tag" run --rm migrate || die "migrations failed; the running release ($current) was left as it was"

  if start_and_wait "$tag"; then
    record "$tag"
    log "$tag is deployed and healthy"
    return 0
  fi

  log "$tag did not become healthy"
  compose "$tag" ps || true
  if [ -z "$current" ]; then die "no earlier release to roll back to"; fi
  log "rolling back to $current"
  if start_and_wait "$current"; then
    die "rolled back to $current; $tag was not deployed"
  fi
  die "rollback to $current did not become healthy either: needs a person"
}

rollback() {
  local previous
  previous=$(read_state previous-tag)
  [ -n "$previous" ] || die "no previous release recorded in $STATE_DIR/previous-tag"
  log "rolling back to $previous"
  start_and_wait "$previous" || die "$previous did not become healthy"
  record "$previous"
  log "$previous is deployed and healthy"
}

case "${1:-}" in
  --rollback) rollback ;;
  '' | -h | --help) sed -n '2,16p' "$0"; [ -n "${1:-}" ] ;;
  *) deploy "$1" ;;
esac
