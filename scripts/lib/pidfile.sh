# Pid files that cannot point at a stranger (sourced).
# /run is not a tmpfs on this machine kind: pid files survive a reboot, and a fresh boot hands out the same
# pids in the same order, so a stale "containerd 6430" named one of mariadb's threads in the next boot. Next to
# each pid file, FILE.id holds the boot id and the process's start time; a pid counts only while both match.

# pid_identity PID: "<boot id> <start time in clock ticks>" of a running, non-zombie process (not a thread)
pid_identity() {
  local pid=$1 stat rest st
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  grep -qx "Tgid:[[:space:]]*$pid" "/proc/$pid/status" 2>/dev/null || return 1
  stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
  rest=${stat##*) }            # the command name may hold spaces and parentheses: cut after the last ')'
  read -r st _ <<<"$rest"
  [[ $st != Z ]] || return 1
  # fields after the name start at field 3; the start time is field 22
  echo "$(cat /proc/sys/kernel/random/boot_id) $(awk '{print $20}' <<<"$rest")"
}

# pid_record FILE PID: write the pid file and its identity
pid_record() {
  echo "$2" >"$1"
  pid_identity "$2" >"$1.id" || rm -f "$1.id"
}

# pid_live FILE: print the pid if FILE names the very process that was recorded; fail otherwise
pid_live() {
  local f=$1 pid
  [[ -s $f && -s $f.id ]] || return 1
  pid=$(cat "$f")
  [[ $(pid_identity "$pid" 2>/dev/null) == "$(cat "$f.id")" ]] || return 1
  echo "$pid"
}

# pid_forget FILE: remove a pid file and its identity
pid_forget() { rm -f "$1" "$1.id"; }

# pid_forget_stale DIR: remove every pid file in DIR whose process is gone (from an earlier boot, say)
pid_forget_stale() {
  local f
  for f in "$1"/*.pid; do
    [[ -e $f ]] || continue
    pid_live "$f" >/dev/null || pid_forget "$f"
  done
}
