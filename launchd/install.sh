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
  --state-dir DIR            The OpenClaw state directory, the service's working directory
                             (default: \$OPENCLAW_STATE_DIR, or ~/.openclaw).
  --dry-run                  Print what would be done and change nothing.
  -h, --help                 Print this help.

launchd: writes ~/Library/LaunchAgents/$LABEL.plist, logs to ~/Library/Logs/moses-coordinator/.
systemd: writes \${XDG_CONFIG_HOME:-~/.config}/systemd/user/$UNIT, logs to the journal.
Running it again is safe: an unchanged, running service is left alone; a changed one is reloaded.
EOF
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
    mkdir -p -- "$dir" || die 1 "Cannot create directory $dir: see the message above."
  fi
  printf 'Writing %s\n' "$path"
  tmp="$(mktemp "$path.XXXXXX")" || die 1 "Cannot write $path: cannot create a temporary file in $dir."
  if ! { printf '%s\n' "$content" >"$tmp" && chmod 0644 "$tmp" && mv -f -- "$tmp" "$path"; }; then
    rm -f -- "$tmp"
    die 1 "Cannot write $path: see the message above."
  fi
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

[[ -e "$BINARY" ]] || usage_error "Binary not found: $BINARY. Pass --binary with the path of the compiled moses-coordinator."
[[ -f "$BINARY" && -x "$BINARY" ]] || usage_error "Binary is not an executable file: $BINARY. Check the path, or run: chmod +x $(printf '%q' "$BINARY")"
BINARY="$(cd -- "$(dirname -- "$BINARY")" && pwd -P)/$(basename -- "$BINARY")"

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
  [[ "$(<"$TARGET")" == "$rendered" ]] && changed=0
fi

if [[ "$DRY_RUN" == 1 ]]; then
  printf 'Dry run: nothing is changed and no %s command is run.\n' \
    "$([[ "$MANAGER" == launchd ]] && echo launchctl || echo systemctl)"
fi

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
  if [[ "$active" == 1 && "$changed" == 1 ]]; then
    [[ "$enabled" == 1 ]] || run_or_die systemctl --user enable "$UNIT"
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
