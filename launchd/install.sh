#!/usr/bin/env bash
# Installs moses-coordinator as a per-user service: a LaunchAgent (macOS, launchd) or a systemd
# user unit (Linux). Run with --help for the options. Exit codes: 0 ok, 1 failure, 2 usage.
set -euo pipefail

readonly PROG="install.sh"

SCRIPT_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
readonly SCRIPT_DIR

# shellcheck source=launchd/common.sh
. "$SCRIPT_DIR/common.sh"

usage() {
  cat <<EOF
Usage: $PROG [--manager launchd|systemd] [--binary PATH] [--state-dir DIR] [--dry-run]

Installs moses-coordinator as a per-user service that runs '<binary> run' in the OpenClaw state
directory, and starts it.

Options:
  --manager launchd|systemd  The service manager (default: launchd on macOS, systemd on Linux).
  --binary PATH              The moses-coordinator binary (default: the one next to this script).
                             With --dry-run it need not exist yet.
  --state-dir DIR            The OpenClaw state directory, the service's working directory
                             (default: \$OPENCLAW_STATE_DIR, or ~/.openclaw).
  --dry-run                  Print what would be done and change nothing.
  -h, --help                 Print this help.

launchd: writes ~/Library/LaunchAgents/$LABEL.plist, logs to ~/Library/Logs/moses-coordinator/.
systemd: writes \${XDG_CONFIG_HOME:-~/.config}/systemd/user/$UNIT, logs to the journal.
Running it again is safe: an unchanged, running service is left alone; a changed one is reloaded.
If a step fails after files were written, they are put back as they were before.
EOF
}

# What this run changed, for undo_on_failure.
CREATED_DIRS=() # directories it created, each innermost first, the last created first
WROTE=0         # 1 once $TARGET was written
HAD_TARGET=0    # 1 when $TARGET existed before (its content is then in PREVIOUS)
PREVIOUS=""
RELOADED=0      # systemd: 1 once daemon-reload ran after $TARGET was written
ENABLED=0       # systemd: 1 when this run enables the unit (it was not enabled before)
STOPPED=0       # 1 when this run stopped or unloaded a running service to replace it

# Notes the directories that creating $1 (mkdir -p) will make, so a failure can remove them.
note_new_dirs() {
  local dir="$1" new=()
  while [[ -n "$dir" && "$dir" != / && ! -d "$dir" ]]; do
    new+=("$dir")
    dir="$(dirname -- "$dir")"
  done
  # ${a[@]+...}: bash 3.2 (macOS) treats an empty array as unset under set -u.
  CREATED_DIRS=(${new[@]+"${new[@]}"} ${CREATED_DIRS[@]+"${CREATED_DIRS[@]}"})
}

# Creates directory $1 (and missing parents) with mode 0700 unless it exists.
make_private_dir() {
  local dir="$1"
  [[ -d "$dir" ]] && return 0
  if [[ "$DRY_RUN" == 1 ]]; then
    printf 'Would create directory %s (mode 0700)\n' "$dir"
    return 0
  fi
  printf 'Creating directory %s (mode 0700)\n' "$dir"
  note_new_dirs "$dir"
  (umask 077 && mkdir -p -- "$dir") || die 1 "Cannot create directory $dir: see the message above."
}

# Writes $2 (plus a newline) to file $1 atomically, mode 0644.
write_file() {
  local path="$1" content="$2" dir tmp
  dir="$(dirname -- "$path")"
  if [[ "$DRY_RUN" == 1 ]]; then
    [[ -d "$dir" ]] || printf 'Would create directory %s\n' "$dir"
    printf 'Would write %s:\n%s\n' "$path" "$content"
    return 0
  fi
  if [[ ! -d "$dir" ]]; then
    printf 'Creating directory %s\n' "$dir"
    note_new_dirs "$dir"
    mkdir -p -- "$dir" || die 1 "Cannot create directory $dir: see the message above."
  fi
  printf 'Writing %s\n' "$path"
  put_file "$path" "$content" || die 1 "Cannot write $path: see the message above."
  WROTE=1
}

# Replaces file $1 with $2 (plus a newline), mode 0644, through a temporary file and a rename.
put_file() {
  local path="$1" content="$2" tmp
  tmp="$(mktemp "$path.XXXXXX")" || return 1
  if ! { printf '%s\n' "$content" >"$tmp" && chmod 0644 "$tmp" && mv -f -- "$tmp" "$path"; }; then
    rm -f -- "$tmp"
    return 1
  fi
}

# One step of undo_on_failure: says what it undoes and runs the command; a failure is reported
# and the undo goes on.
undo() {
  local what="$1"
  shift
  printf 'Undoing: %s\n' "$what"
  "$@" || printf '%s: Cannot undo (%s): see the message above.\n' "$PROG" "$what" >&2
}

# Runs when the script exits. After a failure, puts back what this run changed, in reverse
# order, so a failed install leaves the previous state rather than half an install.
undo_on_failure() {
  local status=$? dir
  trap - EXIT
  if [[ "$status" == 0 || "$DRY_RUN" == 1 ]]; then
    exit "$status"
  fi
  if [[ "$ENABLED" == 1 ]]; then
    # Only edits unit files, so it works even when the manager cannot be reached.
    undo "disabling $UNIT" systemctl --user disable "$UNIT"
  fi
  if [[ "$WROTE" == 1 && "$HAD_TARGET" == 1 ]]; then
    undo "restoring the previous $TARGET" put_file "$TARGET" "$PREVIOUS"
  elif [[ "$WROTE" == 1 ]]; then
    undo "removing $TARGET" rm -f -- "$TARGET"
  fi
  if [[ "$RELOADED" == 1 ]]; then
    undo "reloading systemd" systemctl --user daemon-reload
  fi
  for dir in ${CREATED_DIRS[@]+"${CREATED_DIRS[@]}"}; do
    # Only while empty: anything in it now is not this run's to remove.
    if rmdir -- "$dir" 2>/dev/null; then
      printf 'Undoing: removed directory %s\n' "$dir"
    fi
  done
  if [[ "$WROTE" == 1 && "$HAD_TARGET" == 0 ]]; then
    printf '%s: Nothing is installed: what this run wrote is removed. Fix the error above, then run %s again.\n' \
      "$PROG" "$PROG" >&2
  elif [[ "$STOPPED" == 1 ]]; then
    # The previous service was running and this run stopped it to replace it: start it again.
    if [[ "$MANAGER" == launchd ]]; then
      set -- launchctl bootstrap "gui/$(id -u)" "$TARGET"
    else
      set -- systemctl --user start "$UNIT"
    fi
    printf 'Undoing: starting the previous service: %s\n' "$(show_cmd "$@")"
    if "$@"; then
      printf '%s: The previous service is back, as it was before this run. Fix the error above, then run %s again.\n' \
        "$PROG" "$PROG" >&2
    else
      printf '%s: The previous %s is restored but not running: start it with: %s\n' \
        "$PROG" "$TARGET" "$(show_cmd "$@")" >&2
    fi
  elif [[ "$WROTE" == 1 ]]; then
    printf '%s: The previous %s is restored. Fix the error above, then run %s again.\n' \
      "$PROG" "$TARGET" "$PROG" >&2
  fi
  exit "$status"
}

# --- arguments ---

MANAGER=""
BINARY=""
STATE_DIR="${OPENCLAW_STATE_DIR:-${HOME:?HOME is not set}/.openclaw}"
DRY_RUN=0

while (($# > 0)); do
  case "$1" in
    --manager | --binary | --state-dir)
      (($# >= 2)) || usage_error "Option $1 needs a value."
      case "$1" in
        --manager) MANAGER="$2" ;;
        --binary) BINARY="$2" ;;
        --state-dir) STATE_DIR="$2" ;;
      esac
      shift 2
      ;;
    --manager=*) MANAGER="${1#*=}" && shift ;;
    --binary=*) BINARY="${1#*=}" && shift ;;
    --state-dir=*) STATE_DIR="${1#*=}" && shift ;;
    --dry-run) DRY_RUN=1 && shift ;;
    -h | --help) usage && exit 0 ;;
    *) usage_error "Unknown argument: $1" ;;
  esac
done

resolve_manager

if [[ -z "$BINARY" ]]; then
  if [[ -f "$SCRIPT_DIR/moses-coordinator" && -x "$SCRIPT_DIR/moses-coordinator" ]]; then
    BINARY="$SCRIPT_DIR/moses-coordinator"
  else
    usage_error "No binary given: pass --binary PATH (the compiled moses-coordinator), or put it next to this script as $SCRIPT_DIR/moses-coordinator."
  fi
fi
for value in "$BINARY" "$STATE_DIR" "$HOME"; do
  [[ "$value" != *$'\n'* ]] || usage_error "Cannot install: a path contains a newline: $(printf '%q' "$value")"
done

BINARY_MISSING=0
if [[ -e "$BINARY" ]]; then
  [[ -f "$BINARY" && -x "$BINARY" ]] || usage_error "Binary is not an executable file: $BINARY. Check the path, or run: chmod +x $(printf '%q' "$BINARY")"
elif [[ "$DRY_RUN" == 1 ]]; then
  # A preview may name where the binary is going to be; a real install checks it.
  BINARY_MISSING=1
else
  usage_error "Binary not found: $BINARY. Pass --binary with the path of the compiled moses-coordinator."
fi
if [[ -d "$(dirname -- "$BINARY")" ]]; then
  BINARY="$(cd -- "$(dirname -- "$BINARY")" && pwd -P)/$(basename -- "$BINARY")"
elif [[ "$BINARY" != /* ]]; then
  BINARY="$PWD/${BINARY#./}"
fi

[[ -d "$STATE_DIR" ]] || usage_error "State directory not found: $STATE_DIR. Pass --state-dir with the OpenClaw state directory (where openclaw.json is), or set OPENCLAW_STATE_DIR."
STATE_DIR="$(cd -- "$STATE_DIR" && pwd -P)"

if [[ "$MANAGER" == systemd ]]; then
  # Unit files give '%', '$', quotes, backslashes and whitespace meanings of their own; such paths
  # are refused rather than escaped differently for each directive.
  for value in "$BINARY" "$STATE_DIR"; do
    if [[ "$value" =~ [[:space:]\"\'\\%\$] ]]; then
      usage_error "Cannot use this path in a systemd unit: $value. It holds whitespace or one of \" ' \\ % \$; move it to a path without them."
    fi
  done
fi

# --- rendering ---

LEDGER_DIR="$STATE_DIR/audits/moses"
if [[ "$MANAGER" == launchd ]]; then
  TEMPLATE="$SCRIPT_DIR/$LABEL.plist"
  TARGET="$HOME/Library/LaunchAgents/$LABEL.plist"
  LOG_DIR="$HOME/Library/Logs/moses-coordinator"
  xml_escape "$BINARY" && binary_value="$REPLY"
  xml_escape "$STATE_DIR" && state_value="$REPLY"
  xml_escape "$LOG_DIR" && log_value="$REPLY"
else
  TEMPLATE="$SCRIPT_DIR/$UNIT"
  TARGET="${XDG_CONFIG_HOME:-$HOME/.config}/systemd/user/$UNIT"
  LOG_DIR=""
  binary_value="$BINARY"
  state_value="$STATE_DIR"
  log_value=""
fi

[[ -r "$TEMPLATE" ]] || die 1 "Cannot read the template $TEMPLATE: keep install.sh next to the files it came with."
template="$(<"$TEMPLATE")"
replace_all "$template" "@BINARY@" "$binary_value"
replace_all "$REPLY" "@STATE_DIR@" "$state_value"
replace_all "$REPLY" "@LOG_DIR@" "$log_value"
rendered="$REPLY"

# --- the existing file ---

changed=1
if [[ -e "$TARGET" || -L "$TARGET" ]]; then
  [[ -f "$TARGET" && ! -L "$TARGET" ]] ||
    die 1 "Refusing to replace $TARGET: it is not a regular file. Remove it yourself, then run $PROG again."
  grep -qF "$MARKER" -- "$TARGET" ||
    die 1 "Refusing to overwrite $TARGET: it was not written by $PROG (no '$MARKER' line). Move it away or run its own uninstaller, then run $PROG again."
  HAD_TARGET=1
  PREVIOUS="$(<"$TARGET")"
  [[ "$PREVIOUS" == "$rendered" ]] && changed=0
fi

if [[ "$DRY_RUN" == 1 ]]; then
  printf 'Dry run: nothing is changed and no %s command is run.\n' \
    "$([[ "$MANAGER" == launchd ]] && echo launchctl || echo systemctl)"
  if [[ "$BINARY_MISSING" == 1 ]]; then
    printf 'Note: the binary %s does not exist yet; put it there before installing for real.\n' \
      "$BINARY"
  fi
fi

trap undo_on_failure EXIT

# --- launchd ---

install_launchd() {
  local uid domain service loaded=0 attempt
  uid="$(id -u)"
  domain="gui/$uid"
  service="$domain/$LABEL"
  if [[ "$DRY_RUN" == 0 ]]; then
    command -v launchctl >/dev/null ||
      die 1 "Cannot find launchctl: launchd runs on macOS only. On Linux, use --manager systemd."
    launchctl print "$service" >/dev/null 2>&1 && loaded=1
    if [[ "$changed" == 0 && "$loaded" == 1 ]]; then
      printf '%s is already installed and loaded from %s; nothing to do.\n' "$LABEL" "$TARGET"
      printf 'If it has stopped, start it with: launchctl kickstart %s\n' "$service"
      return 0
    fi
  fi

  make_private_dir "$LEDGER_DIR"
  make_private_dir "$LOG_DIR"
  if [[ "$changed" == 1 ]]; then
    write_file "$TARGET" "$rendered"
  else
    printf '%s is up to date.\n' "$TARGET"
  fi

  if [[ "$DRY_RUN" == 1 ]]; then
    if [[ "$changed" == 1 ]]; then
      printf 'Would run, if the job is loaded: %s\n' "$(show_cmd launchctl bootout "$service")"
      run launchctl bootstrap "$domain" "$TARGET"
    else
      printf 'Would run, unless the job is loaded already: %s\n' \
        "$(show_cmd launchctl bootstrap "$domain" "$TARGET")"
    fi
    return 0
  fi
  if [[ "$loaded" == 1 ]]; then
    run_or_die launchctl bootout "$service"
    STOPPED=1
  fi
  # Right after a bootout, launchd can refuse a bootstrap for a moment while the old job exits.
  for attempt in 1 2 3 4 5; do
    if run launchctl bootstrap "$domain" "$TARGET"; then
      printf 'Installed %s. Logs: %s\n' "$LABEL" "$LOG_DIR"
      return 0
    fi
    [[ "$loaded" == 1 && "$attempt" -lt 5 ]] || break
    sleep 1
  done
  die 1 "Cannot load $TARGET: launchctl bootstrap failed (see its message above). Check the file with: plutil -lint $(printf '%q' "$TARGET")"
}

# --- systemd ---

install_systemd() {
  local active=0 enabled=0
  if [[ "$DRY_RUN" == 0 ]]; then
    command -v systemctl >/dev/null ||
      die 1 "Cannot find systemctl: this machine does not run systemd. On macOS, use --manager launchd."
    # Checked before anything is written: without the manager the install could not finish.
    probe_user_manager ||
      die 1 "Cannot reach the systemd user manager: $REPLY. Nothing was written. 'systemctl --user' needs a login session of this user: log in as $(id -un) directly (not with su or sudo) and run $PROG again; to run the service without a login session, have an administrator run 'loginctl enable-linger $(id -un)', then run $PROG with XDG_RUNTIME_DIR=/run/user/$(id -u) set."
    systemctl --user is-active --quiet "$UNIT" && active=1
    systemctl --user is-enabled --quiet "$UNIT" && enabled=1
    if [[ "$changed" == 0 && "$active" == 1 && "$enabled" == 1 ]]; then
      printf '%s is already installed, enabled and active (%s); nothing to do.\n' "$UNIT" "$TARGET"
      return 0
    fi
  fi

  make_private_dir "$LEDGER_DIR"
  if [[ "$changed" == 1 ]]; then
    write_file "$TARGET" "$rendered"
    [[ "$DRY_RUN" == 1 ]] || RELOADED=1
    run_or_die systemctl --user daemon-reload
  else
    printf '%s is up to date.\n' "$TARGET"
  fi

  if [[ "$DRY_RUN" == 1 ]]; then
    if [[ "$changed" == 1 ]]; then
      run systemctl --user enable --now "$UNIT"
      printf 'Would run instead, if it is active already: %s\n' \
        "$(show_cmd systemctl --user restart "$UNIT")"
    else
      printf 'Would run, unless it is enabled and active already: %s\n' \
        "$(show_cmd systemctl --user enable --now "$UNIT")"
    fi
    return 0
  fi
  # enable can succeed and the start after it fail: noted first, so that a failure undoes it.
  [[ "$enabled" == 1 ]] || ENABLED=1
  if [[ "$active" == 1 && "$changed" == 1 ]]; then
    [[ "$enabled" == 1 ]] || run_or_die systemctl --user enable "$UNIT"
    STOPPED=1
    run_or_die systemctl --user restart "$UNIT"
  else
    run_or_die systemctl --user enable --now "$UNIT"
  fi
  printf 'Installed %s. Logs: journalctl --user -u %s\n' "$UNIT" "${UNIT%.service}"
}

if [[ "$MANAGER" == launchd ]]; then
  install_launchd
else
  install_systemd
fi
