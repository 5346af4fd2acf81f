#!/usr/bin/env bash
# Stops and removes the moses-coordinator service that install.sh set up (launchd or systemd).
# The ledger and the logs are kept. Run with --help for the options.
# Exit codes: 0 ok (also when there was nothing to remove), 1 failure (also when the file was
# removed but systemd could not be told), 2 usage.
set -euo pipefail

readonly PROG="uninstall.sh"

SCRIPT_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
readonly SCRIPT_DIR

# shellcheck source=launchd/common.sh
. "$SCRIPT_DIR/common.sh"

usage() {
  cat <<EOF
Usage: $PROG [--manager launchd|systemd] [--state-dir DIR] [--dry-run]

Stops the moses-coordinator service and removes the file install.sh wrote. The ledger
(<state dir>/audits/moses) and the logs are kept. Sessions the coordinator made read-only
(enforce prevent) get their modes back: the installed binary's 'release' is run once the
service is stopped. When 'systemctl --user' cannot reach the user
manager, the unit file is still removed (and disabled), and it says what to run later.

Options:
  --manager launchd|systemd  The service manager (default: launchd on macOS, systemd on Linux).
  --state-dir DIR            Only used to name the ledger directory that is kept, when the
                             installed file does not say (default: \$OPENCLAW_STATE_DIR, or
                             ~/.openclaw).
  --dry-run                  Print what would be done and change nothing.
  -h, --help                 Print this help.
EOF
}

remove_file() {
  if [[ "$DRY_RUN" == 1 ]]; then
    printf 'Would remove %s\n' "$1"
    return 0
  fi
  printf 'Removing %s\n' "$1"
  rm -f -- "$1" || die 1 "Cannot remove $1: see the message above."
}

# --- arguments ---

MANAGER=""
STATE_DIR="${OPENCLAW_STATE_DIR:-${HOME:?HOME is not set}/.openclaw}"
DRY_RUN=0

while (($# > 0)); do
  case "$1" in
    --manager | --state-dir)
      (($# >= 2)) || usage_error "Option $1 needs a value."
      if [[ "$1" == --manager ]]; then MANAGER="$2"; else STATE_DIR="$2"; fi
      shift 2
      ;;
    --manager=*) MANAGER="${1#*=}" && shift ;;
    --state-dir=*) STATE_DIR="${1#*=}" && shift ;;
    --dry-run) DRY_RUN=1 && shift ;;
    -h | --help) usage && exit 0 ;;
    *) usage_error "Unknown argument: $1" ;;
  esac
done

resolve_manager

if [[ "$MANAGER" == launchd ]]; then
  TARGET="$HOME/Library/LaunchAgents/$LABEL.plist"
else
  TARGET="${XDG_CONFIG_HOME:-$HOME/.config}/systemd/user/$UNIT"
fi

exists=0
BINARY=""
if [[ -e "$TARGET" || -L "$TARGET" ]]; then
  [[ -f "$TARGET" && ! -L "$TARGET" ]] ||
    die 1 "Refusing to remove $TARGET: it is not a regular file, so install.sh did not write it. Remove it yourself if it should go."
  grep -qF "$MARKER" -- "$TARGET" ||
    die 1 "Refusing to remove $TARGET: it was not written by install.sh (no '$MARKER' line). Remove it yourself if it should go."
  exists=1
  # The state directory the service ran in, as the installed file names it.
  if [[ "$MANAGER" == launchd ]]; then
    line="$(grep -A1 -F '<key>WorkingDirectory</key>' -- "$TARGET" | sed -n 's:.*<string>\(.*\)</string>.*:\1:p' | head -n 1 || true)"
    if [[ -n "$line" ]]; then
      xml_unescape "$line"
      STATE_DIR="$REPLY"
    fi
    line="$(grep -A2 -F '<key>ProgramArguments</key>' -- "$TARGET" | sed -n 's:.*<string>\(.*\)</string>.*:\1:p' | head -n 1 || true)"
    if [[ -n "$line" ]]; then
      xml_unescape "$line"
      BINARY="$REPLY"
    fi
  else
    line="$(sed -n 's/^WorkingDirectory=//p' -- "$TARGET" | head -n 1 || true)"
    [[ -z "$line" ]] || STATE_DIR="$line"
    BINARY="$(sed -n 's/^ExecStart=\(.*\) run$/\1/p' -- "$TARGET" | head -n 1 || true)"
  fi
fi

if [[ "$DRY_RUN" == 1 ]]; then
  printf 'Dry run: nothing is changed and no %s command is run.\n' \
    "$([[ "$MANAGER" == launchd ]] && echo launchctl || echo systemctl)"
fi

kept() {
  printf 'Kept: the ledger and the coordinator state in %s\n' "$STATE_DIR/audits/moses"
  if [[ "$MANAGER" == launchd ]]; then
    printf 'Kept: the logs in %s\n' "$HOME/Library/Logs/moses-coordinator"
  else
    printf 'Kept: the logs in the journal (journalctl --user -u %s)\n' "${UNIT%.service}"
  fi
}

# With the service stopped, the sessions the coordinator made read-only (enforce prevent) get
# their modes back: 'release' does it, and does nothing when none is recorded. It runs in the
# state directory, as the service did (its permission grants are relative to it). A failure is
# said, not fatal: the service is removed all the same.
release_sessions() {
  [[ -n "$BINARY" ]] || return 0
  if [[ ! -x "$BINARY" ]]; then
    printf '%s: Cannot give back sessions made read-only: %s is not there. If enforce was on, run its release from %s with the binary you have.\n' \
      "$PROG" "$BINARY" "$STATE_DIR" >&2
    return 0
  fi
  if [[ "$DRY_RUN" == 1 ]]; then
    printf 'Would run, in %s: %s\n' "$STATE_DIR" "$(show_cmd "$BINARY" release)"
    return 0
  fi
  printf 'Running, in %s: %s\n' "$STATE_DIR" "$(show_cmd "$BINARY" release)"
  (cd -- "$STATE_DIR" && "$BINARY" release) ||
    printf '%s: Some sessions the coordinator made read-only may still be read-only (see the message above). Run this once the gateway is up: cd %s && %s\n' \
      "$PROG" "$(printf '%q' "$STATE_DIR")" "$(show_cmd "$BINARY" release)" >&2
}

uninstall_launchd() {
  local service loaded=0
  service="gui/$(id -u)/$LABEL"
  if [[ "$DRY_RUN" == 1 ]]; then
    printf 'Would run, if the job is loaded: %s\n' "$(show_cmd launchctl bootout "$service")"
  else
    command -v launchctl >/dev/null ||
      die 1 "Cannot find launchctl: launchd runs on macOS only. On Linux, use --manager systemd."
    launchctl print "$service" >/dev/null 2>&1 && loaded=1
    if [[ "$exists" == 0 && "$loaded" == 0 ]]; then
      printf '%s is not installed; nothing to do.\n' "$LABEL"
      return 0
    fi
    if [[ "$loaded" == 1 ]] && ! run launchctl bootout "$service"; then
      # A bootout can report an error while the job is still exiting; what counts is the result.
      sleep 1
      ! launchctl print "$service" >/dev/null 2>&1 ||
        die 1 "Cannot unload $LABEL: launchctl bootout failed (see its message above). $TARGET is kept."
    fi
  fi
  release_sessions
  [[ "$exists" == 0 ]] || remove_file "$TARGET"
  [[ "$DRY_RUN" == 1 ]] || printf 'Uninstalled %s.\n' "$LABEL"
  kept
}

uninstall_systemd() {
  if [[ "$exists" == 0 ]]; then
    printf '%s is not installed (no %s); nothing to do.\n' "$UNIT" "$TARGET"
    return 0
  fi
  if [[ "$DRY_RUN" == 0 ]]; then
    command -v systemctl >/dev/null ||
      die 1 "Cannot find systemctl: this machine does not run systemd. On macOS, use --manager launchd."
    if ! probe_user_manager; then
      uninstall_systemd_offline "$REPLY"
      return
    fi
  fi
  run_or_die systemctl --user disable --now "$UNIT"
  release_sessions
  remove_file "$TARGET"
  run_or_die systemctl --user daemon-reload
  [[ "$DRY_RUN" == 1 ]] || printf 'Uninstalled %s.\n' "$UNIT"
  kept
}

# Without a reachable user manager (no login session of this user) the file is still ours to
# remove; what only the manager can do (stop the service, forget the unit) is left for later, and
# said so. $1 is what systemctl said.
uninstall_systemd_offline() {
  local why="$1" later
  # disable without --now only edits unit files (the default.target.wants link): no manager needed.
  run systemctl --user disable "$UNIT" ||
    printf '%s: Cannot disable %s: see the message above. Remove its link in %s yourself.\n' \
      "$PROG" "$UNIT" "$(dirname -- "$TARGET")/default.target.wants" >&2
  remove_file "$TARGET"
  kept
  later="systemctl --user stop $UNIT; systemctl --user daemon-reload"
  printf '%s: Removed %s, but the systemd user manager could not be told: %s. If the service still runs under it (when this user is logged in elsewhere, or lingering is on), stop it from a login session of %s: %s\n' \
    "$PROG" "$TARGET" "$why" "$(id -un)" "$later" >&2
  exit 1
}

if [[ "$MANAGER" == launchd ]]; then
  uninstall_launchd
else
  uninstall_systemd
fi
