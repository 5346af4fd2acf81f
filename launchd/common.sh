# shellcheck shell=bash
# Shared by install.sh and uninstall.sh (sourced; not run on its own). The caller sets PROG
# (its name, for messages) and DRY_RUN (1 to only print what would be done).

# The service's names, and the marker that says a file is one install.sh wrote.
# shellcheck disable=SC2034  # used by the scripts that source this file
readonly LABEL="com.elloCello.moses-coordinator"
# shellcheck disable=SC2034
readonly UNIT="moses-coordinator.service"
# shellcheck disable=SC2034
readonly MARKER="Written by moses-coordinator install.sh"

# Prints an error on stderr and exits with status $1.
die() {
  local code="$1"
  shift
  printf '%s: %s\n' "$PROG" "$*" >&2
  exit "$code"
}

usage_error() {
  printf '%s: %s\n' "$PROG" "$*" >&2
  printf "Run '%s --help' for usage.\n" "$PROG" >&2
  exit 2
}

# Sets MANAGER, when not given, from the system (launchd on macOS, systemd on Linux), and
# refuses any other value.
resolve_manager() {
  if [[ -z "$MANAGER" ]]; then
    case "$(uname -s)" in
      Darwin) MANAGER=launchd ;;
      Linux) MANAGER=systemd ;;
      *) usage_error "Cannot tell the service manager for $(uname -s): pass --manager launchd or --manager systemd." ;;
    esac
  fi
  case "$MANAGER" in
    launchd | systemd) ;;
    *) usage_error "Unknown service manager: $MANAGER. Use --manager launchd or --manager systemd." ;;
  esac
}

# Sets REPLY to $1 with every occurrence of $2 replaced by $3. Plain string work, so an '&' in
# the replacement stays literal (bash 5.2's patsub_replacement would expand it in ${x//a/b}).
replace_all() {
  local rest="$1" from="$2" to="$3" out=""
  while [[ "$rest" == *"$from"* ]]; do
    out+="${rest%%"$from"*}$to"
    rest="${rest#*"$from"}"
  done
  REPLY="$out$rest"
}

# Sets REPLY to $1 escaped for XML character data.
xml_escape() {
  replace_all "$1" "&" "&amp;"
  replace_all "$REPLY" "<" "&lt;"
  replace_all "$REPLY" ">" "&gt;"
  replace_all "$REPLY" '"' "&quot;"
  replace_all "$REPLY" "'" "&apos;"
}

# Prints a command as it would be typed.
show_cmd() {
  local out="" arg
  for arg in "$@"; do
    out+=" $(printf '%q' "$arg")"
  done
  printf '%s' "${out# }"
}

# Runs a command after saying so; in a dry run only says what it would run.
run() {
  if [[ "$DRY_RUN" == 1 ]]; then
    printf 'Would run: %s\n' "$(show_cmd "$@")"
    return 0
  fi
  printf 'Running: %s\n' "$(show_cmd "$@")"
  "$@"
}

# Runs a command, and exits 1 with a message naming it when it fails.
run_or_die() {
  run "$@" || die 1 "Command failed: $(show_cmd "$@"). See its message above."
}

# Checks that `systemctl --user` can reach this user's systemd instance (the user manager): it
# cannot without a login session of this user (su, sudo, ssh without PAM, most containers). Asks
# for something harmless that only the manager can answer. On failure returns 1 and sets REPLY to
# what systemctl said.
probe_user_manager() {
  local out
  if out="$(systemctl --user show-environment 2>&1 >/dev/null)"; then
    return 0
  fi
  out="${out%%$'\n'*}"
  REPLY="${out:-systemctl --user show-environment failed}"
  return 1
}

# Sets REPLY to the XML character data $1 with its entities decoded.
xml_unescape() {
  replace_all "$1" "&lt;" "<"
  replace_all "$REPLY" "&gt;" ">"
  replace_all "$REPLY" "&quot;" '"'
  replace_all "$REPLY" "&apos;" "'"
  replace_all "$REPLY" "&amp;" "&"
}
