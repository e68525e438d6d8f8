# Shared settings and helpers of scripts/aio.sh (sourced).
AIO_ETC=/etc/aio
AIO_VAR=/var/lib/aio
AIO_LOG=/var/log/aio
AIO_RUN=/run/aio

AIO_LB=${AIO_LB:-1}
AIO_DHCP=${AIO_DHCP:-1}
AIO_L3=${AIO_L3:-1}
AIO_DOCKER=${AIO_DOCKER:-1}
AIO_DOCKER2=${AIO_DOCKER2:-0}
AIO_SKIP_APT=${AIO_SKIP_APT:-0}

AGENT_HOST=$(hostname)                        # binding:host_id of the OVS host
AIO_LB_HOST=${AIO_LB_HOST:-${AGENT_HOST}-lb}  # binding:host_id of the linuxbridge host
LBNS=aio-lb
UL_ROOT_IP=10.255.0.1   # VXLAN endpoint of the OVS host (bridge br-ul, root netns)
UL_LB_IP=10.255.0.2     # VXLAN endpoint of the linuxbridge host (ul0 in $LBNS)

ADMIN_PASS=admin; DEMO_PASS=demo; ALT_PASS=alt; NEUTRON_PASS=neutron; KURYR_PASS=kuryr
DB_PASS=aio-db; RABBIT_USER=openstack; RABBIT_PASS=openstack
KS_URL=http://127.0.0.1:5000/v3
NEUTRON_URL=http://127.0.0.1:9696
REGION=RegionOne

PKGS="mariadb-server python3-pymysql rabbitmq-server keystone uwsgi-plugin-python3
 neutron-server neutron-openvswitch-agent neutron-linuxbridge-agent neutron-dhcp-agent
 neutron-l3-agent openvswitch-switch docker.io busybox-static etcd-server
 python3-openstackclient iputils-ping iproute2 conntrack curl jq socat procps psmisc ethtool util-linux"

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.1f", b-a}'; }
T0=$(now)
log() { printf '[aio %6ss] %s\n' "$(since "$T0")" "$*"; }
die() { log "FATAL: $*"; exit 1; }

# step NAME FN...: run FN and print how long it took
step() {
  local name=$1; shift
  local t; t=$(now)
  "$@"
  log "step '$name' took $(since "$t") s"
}

# wait_for DESC TIMEOUT_S CMD...
wait_for() {
  local desc=$1 to=$2; shift 2
  local start; start=$(date +%s)
  until "$@" >/dev/null 2>&1; do
    (( $(date +%s) - start >= to )) && die "timeout ($to s) waiting for $desc"
    sleep 0.3
  done
}

# shellcheck source=pidfile.sh
source "$(dirname "${BASH_SOURCE[0]}")/pidfile.sh"
# running PID: exists and is not a zombie (this VM's PID 1 reaps orphans only every ~2 s)
running() { local st; st=$(sed -n 's/.*) \(.\).*/\1/p' "/proc/$1/stat" 2>/dev/null); [[ -n $st && $st != Z ]]; }
# alive NAME: the process our pid file names is still the one we started (see pidfile.sh)
alive() { pid_live "$AIO_RUN/$1.pid" >/dev/null; }

# close_inherited_fds: close every fd above 2 of this shell. Daemons must not keep what their starter held open:
# under `flock /tmp/stack.lock ...` that is the lock itself, which a daemon would then hold forever.
close_inherited_fds() {
  local fd
  for fd in /proc/self/fd/*; do
    fd=${fd##*/}
    if (( fd > 2 )); then eval "exec $fd>&-" 2>/dev/null || true; fi
  done
}

# start_bg NAME CMD...: start detached in its own session; the pid file marks it as ours for 'down'
start_bg() {
  local name=$1; shift
  if alive "$name"; then log "$name already running (pid $(cat "$AIO_RUN/$name.pid"))"; return 0; fi
  ( close_inherited_fds; exec setsid "$@" >>"$AIO_LOG/$name.out" 2>&1 </dev/null ) &
  pid_record "$AIO_RUN/$name.pid" $!
  log "started $name (pid $!)"
}

stop_pid() {
  local name=$1 pid=$2 i
  running "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 300); do running "$pid" || { log "stopped $name"; return 0; }; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  log "killed $name after 30 s"
}
stop_name() { local f=$AIO_RUN/$1.pid pid; if pid=$(pid_live "$f"); then stop_pid "$1" "$pid"; fi; pid_forget "$f"; }
# in parallel; waits for these stops only (a bare `wait` would also wait for daemons start_bg started in this shell)
stop_names() { local n pids=(); for n in "$@"; do stop_name "$n" & pids+=($!); done; wait "${pids[@]}"; }

admin_token() {
  curl -sS -i -X POST "$KS_URL/auth/tokens" -H 'Content-Type: application/json' \
    -d '{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"admin","domain":{"name":"Default"},"password":"'"$ADMIN_PASS"'"}}},"scope":{"project":{"name":"admin","domain":{"name":"Default"}}}}}' \
    | awk -F': ' 'tolower($1)=="x-subject-token"{print $2}' | tr -d '\r'
}

do_apt() {
  [[ $AIO_SKIP_APT == 1 ]] && return 0
  local missing=() p
  for p in $PKGS; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p"); done
  (( ${#missing[@]} )) || { log "packages already installed"; return 0; }
  log "apt-get install ${missing[*]}"
  # this image's policy-rc.d forbids starting services at install time; we start them ourselves
  if ! DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 install -y --no-install-recommends "${missing[@]}" >"$AIO_LOG/apt.log" 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get update >>"$AIO_LOG/apt.log" 2>&1
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 install -y --no-install-recommends "${missing[@]}" >>"$AIO_LOG/apt.log" 2>&1 \
      || { tail -20 "$AIO_LOG/apt.log"; die "apt-get install failed"; }
  fi
}
