#!/usr/bin/env bash
# Restores the booking database from pgBackRest's repository into a new data directory, up to a point
# in time (docs/operations.md, "Backups and point-in-time recovery"). It never writes into a directory
# that holds anything, so a cluster, running or not, cannot be overwritten by accident.
#
#   scripts/restore.sh --to DIR --time TIME   the commits up to TIME: '2026-01-31 12:00:00+00',
#                                             '2026-01-31T12:00:00Z', '15 minutes ago' (UTC unless a zone is given)
#   scripts/restore.sh --to DIR --name NAME   up to a restore point made with SELECT pg_create_restore_point('NAME')
#   scripts/restore.sh --to DIR --lsn LSN     up to a WAL position
#   scripts/restore.sh --to DIR --latest      everything the archive holds
#
# Options:
#   --set LABEL             the backup to start from (labels: scripts/backup.sh info). By default the newest
#                           one before --time, else the newest one: a --name or --lsn target older than the
#                           newest backup needs --set
#   --target-action ACTION  at the target: promote (default; a new timeline that takes writes), pause
#                           (read-only for inspection) or shutdown
#   --keep-archiving        leave archive_mode on, for the cluster that replaces the primary. Without it the
#                           restored cluster archives nothing: a drill or an inspection copy never puts WAL of
#                           its own timeline into the repository.
#
# Then start PostgreSQL on DIR: it fetches WAL from the repository (restore_command runs
# `pgbackrest archive-get` with the stanza and repository given here), replays it up to the target and,
# with promote, opens for writes. Run as the user the server runs as (postgres). Settings, from the
# environment: PGBACKREST_STANZA [booking], PGBACKREST_REPO1_PATH [/var/lib/pgbackrest],
# PGBACKREST_PROCESS_MAX [4] and any other PGBACKREST_* option, as for scripts/backup.sh.
set -euo pipefail

STANZA=${PGBACKREST_STANZA:-booking}
REPOSITORY=${PGBACKREST_REPO1_PATH:-/var/lib/pgbackrest}
# Files are restored by several processes: the server is not running yet, downtime waits for this.
export PGBACKREST_PROCESS_MAX=${PGBACKREST_PROCESS_MAX:-4}
export PGBACKREST_LOG_LEVEL_CONSOLE=${PGBACKREST_LOG_LEVEL_CONSOLE:-info}
export PGBACKREST_LOG_LEVEL_FILE=${PGBACKREST_LOG_LEVEL_FILE:-off}

log() { printf '[restore] %s\n' "$*"; }
die() { printf '[restore] %s\n' "$*" >&2; exit 1; }
usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }

to='' type='' target='' set='' action=promote archive_mode=off

set_target() {
  [ -z "$type" ] || die "give one target: --time, --name, --lsn or --latest"
  type=$1 target=$2
}

need_value() { [ "$2" -ge 2 ] || die "$1 needs a value"; }

while (($# > 0)); do
  case "$1" in
    --to) need_value "$1" $# && to=$2 && shift 2 ;;
    --time) need_value "$1" $# && set_target time "$2" && shift 2 ;;
    --name) need_value "$1" $# && set_target name "$2" && shift 2 ;;
    --lsn) need_value "$1" $# && set_target lsn "$2" && shift 2 ;;
    --latest) set_target default '' && shift ;;
    --set) need_value "$1" $# && set=$2 && shift 2 ;;
    --target-action) need_value "$1" $# && action=$2 && shift 2 ;;
    --keep-archiving) archive_mode=preserve && shift ;;
    -h | --help) usage && exit 0 ;;
    *) usage >&2 && die "unknown argument: $1" ;;
  esac
done

[ -n "$to" ] || die "--to DIR is required: the new data directory to restore into"
[ -n "$type" ] || die "a target is required: --time, --name, --lsn or --latest"
case "$action" in promote | pause | shutdown) ;; *) die "--target-action must be promote, pause or shutdown" ;; esac
case "$type" in
  # pgBackRest picks the backup set from the time only in this form.
  time)
    when=$(date -u -d "$target" '+%Y-%m-%d %H:%M:%S.%6N+00' 2>/dev/null) || die "--time: not a time: '$target'"
    target=$when
    ;;
  lsn) [[ "$target" =~ ^[0-9A-Fa-f]{1,8}/[0-9A-Fa-f]{1,8}$ ]] || die "--lsn: not a WAL position (like 0/3000028): '$target'" ;;
  name) [ -n "$target" ] || die "--name: the restore point's name is empty" ;;
esac

to=$(realpath -m -- "$to")
if [ -e "$to" ] && { [ ! -d "$to" ] || [ -n "$(ls -A -- "$to")" ]; }; then
  die "refusing to restore into $to: it is not an empty directory (a restore never overwrites data; move it away or choose another)"
fi
command -v pgbackrest >/dev/null || die "pgbackrest is not installed (Debian package pgbackrest)"

# Given on the command line, pgBackRest writes them into restore_command too: the restored server
# finds the repository without further settings.
options=(--stanza="$STANZA" --repo1-path="$REPOSITORY" --pg1-path="$to" --archive-mode="$archive_mode" --type="$type")
for setting in CONFIG CONFIG_PATH CONFIG_INCLUDE_PATH; do
  variable=PGBACKREST_$setting
  if [ -n "${!variable:-}" ]; then options+=("--$(tr '[:upper:]_' '[:lower:]-' <<<"$setting")=${!variable}"); fi
done
if [ "$type" != default ]; then options+=(--target="$target" --target-action="$action"); fi
if [ -n "$set" ]; then options+=(--set="$set"); fi

log "restoring stanza $STANZA from $REPOSITORY into $to (target: ${target:-the end of the archive})"
install -d -m 700 -- "$to"
pgbackrest "${options[@]}" restore
case "$action" in
  promote) then='opens for writes on a new timeline' ;;
  pause) then='pauses, read-only (SELECT pg_wal_replay_resume() promotes it)' ;;
  shutdown) then='shuts down' ;;
esac
log "restored. Start PostgreSQL on $to (on a port of its own while the primary runs, e.g."
log "  pg_ctl -D $to -o '-p 5433' start): it replays WAL up to the target, then $then."
if [ "$archive_mode" = off ]; then log "archive_mode is off in the restored cluster (--keep-archiving leaves it on)."; fi
