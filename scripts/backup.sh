#!/usr/bin/env bash
# Base backups and WAL archive of the booking database with pgBackRest, for point-in-time recovery
# (docs/operations.md, "Backups and point-in-time recovery"). Run as the user that owns the data
# directory (postgres), on the database host or a container that shares its data directory and socket.
#
#   scripts/backup.sh init            create the stanza in the repository (safe to repeat), then check
#   scripts/backup.sh full|diff|incr  take a backup of that type, then expire what retention no longer keeps
#                                     (pgBackRest takes a full one while the repository has none)
#   scripts/backup.sh auto            full and verify on BACKUP_FULL_WEEKDAY, diff on the other days
#   scripts/backup.sh check           switch WAL and wait until the segment is in the repository
#   scripts/backup.sh verify          re-read the repository; fails on a missing or corrupt file
#   scripts/backup.sh info            the backups and the archived WAL: the window a restore can reach
#   scripts/backup.sh schedule        init, a first backup when there is none, then `auto` every day at
#                                     BACKUP_TIME; runs until stopped (the Compose `backup` service)
#   scripts/backup.sh health          exit 1 when the last scheduled backup failed or the newest backup is
#                                     older than BACKUP_MAX_AGE_HOURS (the service's health check)
#
# PostgreSQL must archive into the same repository: archive_mode=on and
# archive_command='pgbackrest archive-push %p', with the same PGBACKREST_* settings in its environment
# (or in pgBackRest's configuration file). Settings, from the environment (local defaults in brackets):
#   PGBACKREST_STANZA                 the database's name in the repository [booking]
#   PGBACKREST_PG1_PATH               the data directory [$PGDATA, else /var/lib/postgresql/15/main]
#   PGBACKREST_PG1_PORT, PGBACKREST_PG1_SOCKET_PATH, PGBACKREST_PG1_USER
#                                     how to reach PostgreSQL (a Unix socket) [5432, /var/run/postgresql, postgres]
#   PGBACKREST_REPO1_PATH             the repository [/var/lib/pgbackrest]
#   PGBACKREST_REPO1_RETENTION_FULL   full backups kept, with their diffs and the WAL from the oldest on [2]
#   PGBACKREST_COMPRESS_TYPE          [zst]; PGBACKREST_START_FAST: checkpoint at once when a backup starts [y]
#   BACKUP_FULL_WEEKDAY               ISO weekday (1 Monday … 7 Sunday) of `auto`'s full backup [7]
#   BACKUP_TIME                       UTC time of `schedule`'s daily backup [02:00]
#   BACKUP_MAX_AGE_HOURS              newest backup's age beyond which `health` fails [26]
#   BACKUP_STATE_DIR                  where `schedule` records a failed backup for `health` [/tmp/booking-backup]
# Any other pgBackRest option may be set as PGBACKREST_<OPTION> (e.g. an S3 repository: PGBACKREST_REPO1_TYPE=s3).
set -euo pipefail

export PGBACKREST_STANZA=${PGBACKREST_STANZA:-booking}
export PGBACKREST_PG1_PATH=${PGBACKREST_PG1_PATH:-${PGDATA:-/var/lib/postgresql/15/main}}
export PGBACKREST_REPO1_PATH=${PGBACKREST_REPO1_PATH:-/var/lib/pgbackrest}
export PGBACKREST_REPO1_RETENTION_FULL=${PGBACKREST_REPO1_RETENTION_FULL:-2}
export PGBACKREST_COMPRESS_TYPE=${PGBACKREST_COMPRESS_TYPE:-zst}
export PGBACKREST_START_FAST=${PGBACKREST_START_FAST:-y}
export PGBACKREST_LOG_LEVEL_CONSOLE=${PGBACKREST_LOG_LEVEL_CONSOLE:-info}
# Messages go to standard output (the container's log), not to files in /var/log.
export PGBACKREST_LOG_LEVEL_FILE=${PGBACKREST_LOG_LEVEL_FILE:-off}
FULL_WEEKDAY=${BACKUP_FULL_WEEKDAY:-7}
DAILY_AT=${BACKUP_TIME:-02:00}
MAX_AGE_HOURS=${BACKUP_MAX_AGE_HOURS:-26}
STATE_DIR=${BACKUP_STATE_DIR:-/tmp/booking-backup}

log() { printf '[backup] %s\n' "$*"; }
die() { printf '[backup] %s\n' "$*" >&2; exit 1; }
usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }

# Every pgBackRest run and every wait goes through `run`: the one child running now is in $child, to
# which `schedule` passes SIGTERM on (pgBackRest then stops cleanly) before it exits.
child=
run() {
  "$@" &
  child=$!
  local status=0
  wait "$child" || status=$?
  child=
  return "$status"
}

# Each function returns its first failure (chained with &&: `schedule` calls them where `set -e` is off).
init() {
  run pgbackrest stanza-create && run pgbackrest check
}

backup() {
  log "taking a $1 backup of stanza $PGBACKREST_STANZA"
  run pgbackrest --type="$1" backup
}

auto() {
  if [ "$(date -u +%u)" = "$FULL_WEEKDAY" ]; then
    backup full && run pgbackrest verify
  else
    backup diff
  fi
}

# Epoch seconds at which the newest backup finished; nothing when there is none.
newest_backup_epoch() {
  { pgbackrest --output=json info | grep -o '"stop":[0-9]*' || true; } | cut -d: -f2 | sort -n | tail -n 1
}

seconds_until() {
  local now next
  now=$(date -u +%s)
  next=$(date -u -d "today $1" +%s)
  ((next > now)) || next=$(date -u -d "tomorrow $1" +%s)
  echo $((next - now))
}

# Runs one step of the schedule and records whether it failed, for `health`.
attempt() {
  if "$@"; then
    rm -f "$STATE_DIR/failed"
  else
    printf '%s: "%s" failed; see the log above\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >"$STATE_DIR/failed"
  fi
}

schedule() {
  date -u -d "today $DAILY_AT" >/dev/null 2>&1 || die "BACKUP_TIME must be HH:MM (UTC), not '$DAILY_AT'"
  trap 'if [ -n "$child" ]; then kill -TERM "$child" 2>/dev/null; wait "$child"; fi; exit 143' TERM INT
  mkdir -p "$STATE_DIR"
  rm -f "$STATE_DIR/failed"
  until init; do
    log "stanza or WAL archiving not ready; trying again in 30 s"
    run sleep 30
  done
  if [ -z "$(newest_backup_epoch)" ]; then attempt backup full; fi
  while :; do
    log "next backup at $DAILY_AT UTC"
    run sleep "$(seconds_until "$DAILY_AT")"
    attempt auto
  done
}

health() {
  if [ -f "$STATE_DIR/failed" ]; then
    cat "$STATE_DIR/failed"
    return 1
  fi
  local newest age
  newest=$(newest_backup_epoch)
  if [ -z "$newest" ]; then
    echo "no backup yet"
    return 0
  fi
  age=$(($(date -u +%s) - newest))
  if ((age > MAX_AGE_HOURS * 3600)); then
    echo "the newest backup finished $((age / 3600)) h ago (more than BACKUP_MAX_AGE_HOURS=$MAX_AGE_HOURS)"
    return 1
  fi
  echo "the newest backup finished at $(date -u -d "@$newest" +%Y-%m-%dT%H:%M:%SZ)"
}

case "${1:-}" in
  -h | --help) usage && exit 0 ;;
  init | full | diff | incr | auto | check | verify | info | schedule | health) ;;
  *) usage >&2 && exit 2 ;;
esac
command -v pgbackrest >/dev/null || die "pgbackrest is not installed (Debian package pgbackrest)"

case "$1" in
  init) init ;;
  full | diff | incr) backup "$1" ;;
  auto) auto ;;
  check) pgbackrest check ;;
  verify) pgbackrest verify ;;
  info) pgbackrest info ;;
  schedule) schedule ;;
  health) health ;;
esac
