# Service start/stop of the all-in-one stack (sourced by scripts/aio.sh).

start_mariadb() {
  if ! mariadb-admin --connect-timeout=2 ping >/dev/null 2>&1; then
    install -d -o mysql -g mysql /run/mysqld
    [[ -d /var/lib/mysql/mysql ]] || mariadb-install-db --user=mysql >>"$AIO_LOG/mariadb.out" 2>&1
    start_bg mariadb /usr/sbin/mariadbd --user=mysql
    wait_for "mariadb" 60 mariadb-admin --connect-timeout=2 ping
  fi
  mariadb <<SQL
CREATE DATABASE IF NOT EXISTS keystone;
CREATE DATABASE IF NOT EXISTS neutron;
CREATE USER IF NOT EXISTS 'keystone'@'127.0.0.1' IDENTIFIED BY '$DB_PASS';
CREATE USER IF NOT EXISTS 'neutron'@'127.0.0.1' IDENTIFIED BY '$DB_PASS';
GRANT ALL PRIVILEGES ON keystone.* TO 'keystone'@'127.0.0.1';
GRANT ALL PRIVILEGES ON neutron.* TO 'neutron'@'127.0.0.1';
FLUSH PRIVILEGES;
SQL
}

start_rabbitmq() {
  if ! rabbitmqctl -q status >/dev/null 2>&1; then
    start_bg rabbitmq /usr/sbin/rabbitmq-server
    wait_for "rabbitmq" 120 rabbitmqctl -q await_startup
  fi
  rabbitmqctl -q list_users | grep -q "^$RABBIT_USER" || rabbitmqctl -q add_user $RABBIT_USER $RABBIT_PASS >/dev/null
  rabbitmqctl -q set_permissions $RABBIT_USER '.*' '.*' '.*' >/dev/null
}

start_keystone() {
  local kmg=(keystone-manage --config-file $AIO_ETC/keystone/keystone.conf)
  if [[ ! -e $AIO_VAR/keystone/.db_synced ]]; then
    "${kmg[@]}" db_sync 2>>"$AIO_LOG/keystone-manage.out"
    "${kmg[@]}" fernet_setup --keystone-user root --keystone-group root 2>>"$AIO_LOG/keystone-manage.out"
    "${kmg[@]}" credential_setup --keystone-user root --keystone-group root 2>>"$AIO_LOG/keystone-manage.out"
    "${kmg[@]}" bootstrap --bootstrap-password $ADMIN_PASS --bootstrap-admin-url $KS_URL/ \
      --bootstrap-internal-url $KS_URL/ --bootstrap-public-url $KS_URL/ --bootstrap-region-id $REGION 2>>"$AIO_LOG/keystone-manage.out"
    touch $AIO_VAR/keystone/.db_synced
  fi
  curl -fsS -o /dev/null http://127.0.0.1:5000/v3 2>/dev/null && return 0
  # uwsgi --http-socket needs "Connection: close" or python-requests clients fail on reused connections
  start_bg keystone env OS_KEYSTONE_CONFIG_FILES=$AIO_ETC/keystone/keystone.conf uwsgi --plugins python3 \
    --http-socket 127.0.0.1:5000 --wsgi-file /usr/bin/keystone-wsgi-public --master --processes 2 --threads 4 \
    --die-on-term --lazy-apps --buffer-size 65535 --add-header "Connection: close"
  wait_for "keystone" 60 curl -fsS -o /dev/null http://127.0.0.1:5000/v3
}

keystone_objects() {
  [[ -e $AIO_VAR/keystone/.objects_done ]] && return 0
  # one python process instead of ~30 'openstack' CLI calls; idempotent (find-or-create)
  /usr/bin/python3 - <<PY
from keystoneauth1.identity import v3
from keystoneauth1 import session
from keystoneclient.v3 import client
ks = client.Client(session=session.Session(auth=v3.Password(auth_url='$KS_URL', username='admin', password='$ADMIN_PASS',
     project_name='admin', user_domain_id='default', project_domain_id='default')))
def one(mgr, name, **kw):
    found = [o for o in mgr.list(**({'domain': 'default'} if mgr in (ks.projects, ks.users) else {})) if o.name == name]
    return found[0] if found else mgr.create(name=name, **kw)
role = {r.name: r for r in ks.roles.list()}
for p in ('service', 'demo', 'alt_demo'):
    one(ks.projects, p, domain='default')
prj = {p.name: p for p in ks.projects.list(domain='default')}
for u, pw, p, r in (('neutron', '$NEUTRON_PASS', 'service', 'admin'), ('kuryr', '$KURYR_PASS', 'service', 'admin'),
                    ('demo', '$DEMO_PASS', 'demo', 'member'), ('alt_demo', '$ALT_PASS', 'alt_demo', 'member')):
    user = one(ks.users, u, domain='default', password=pw)
    ks.roles.grant(role[r], user=user, project=prj[p])
svc = [s for s in ks.services.list() if s.type == 'network'] or [ks.services.create(name='neutron', type='network')]
have = {e.interface for e in ks.endpoints.list(service=svc[0])}
for i in ('public', 'internal', 'admin'):
    if i not in have:
        ks.endpoints.create(service=svc[0], url='$NEUTRON_URL', interface=i, region='$REGION')
PY
  touch $AIO_VAR/keystone/.objects_done
}

ovs_running() { ovs-vsctl --timeout=2 show >/dev/null 2>&1; }

start_ovs() {
  if ! ovs_running; then
    /usr/share/openvswitch/scripts/ovs-ctl --no-monitor --system-id=random start >>$AIO_LOG/ovs-ctl.out 2>&1 \
      || { tail -20 $AIO_LOG/ovs-ctl.out; die "ovs-ctl start failed"; }
    touch $AIO_RUN/ovs.ours
  fi
  # no openvswitch kernel module here: every bridge uses the userspace datapath
  local br
  for br in br-int br-ex; do ovs-vsctl --may-exist add-br $br -- set Bridge $br datapath_type=netdev; done
}

# The second "host": netns $LBNS with a VXLAN underlay veth to OVS's br-ul, and socat relays so that
# 127.0.0.1:{5000,5672,9696} inside the netns reach the services (catalog URLs stay valid there).
setup_underlay() {
  [[ $AIO_LB == 1 || $AIO_DOCKER2 == 1 ]] || return 0
  ip netns list | grep -qw $LBNS || ip netns add $LBNS
  ip -n $LBNS link set lo up
  ip link show aio-ul0 >/dev/null 2>&1 || ip link add aio-ul0 type veth peer name ul0 netns $LBNS
  ip link set aio-ul0 up
  ip -n $LBNS link set ul0 up
  ip -n $LBNS addr replace $UL_LB_IP/24 dev ul0
  # OVS userspace reads veths via AF_PACKET without checksum metadata: offloaded checksums get dropped
  ip netns exec $LBNS ethtool -K ul0 tx off >/dev/null
  ovs-vsctl --may-exist add-br br-ul -- set Bridge br-ul datapath_type=netdev -- --may-exist add-port br-ul aio-ul0
  ip addr replace $UL_ROOT_IP/24 dev br-ul
  ip link set br-ul up
  local port
  for port in 5000 5672 9696; do
    start_bg relay-$port socat UNIX-LISTEN:$AIO_RUN/relay-$port.sock,fork,unlink-early,mode=600 TCP:127.0.0.1:$port
    start_bg relay-$LBNS-$port ip netns exec $LBNS socat TCP-LISTEN:$port,bind=127.0.0.1,fork,reuseaddr UNIX-CONNECT:$AIO_RUN/relay-$port.sock
  done
  # ebtables-nft 1.8.9 cannot delete '--among-src' rules by spec (the linuxbridge agent then retries
  # forever): delete those by rule number instead. Only the LB agent sees this wrapper (see start_agents).
  mkdir -p $AIO_VAR/bin
  cat >$AIO_VAR/bin/ebtables <<'EOW'
#!/bin/sh
REAL="/usr/sbin/xtables-nft-multi ebtables"
case "$*" in *" -D "*"--among-src"*) ;; *) exec $REAL "$@" ;; esac
table=filter; chain=""; vif=""; prev=""
for a in "$@"; do
  case "$prev" in -t) table=$a ;; -D) chain=$a ;; -i) vif=$a ;; esac
  prev=$a
done
n=$($REAL -t "$table" -L "$chain" --Ln 2>/dev/null | awk -v v="-i $vif " 'index($0, v) && /--among-src/ {sub(/\..*/, "", $1); print $1; exit}')
[ -n "$n" ] || exit 0
exec $REAL -t "$table" --concurrent -D "$chain" "$n"
EOW
  chmod +x $AIO_VAR/bin/ebtables
}

start_neutron_server() {
  local cf=(--config-file $AIO_ETC/neutron/neutron.conf --config-file $AIO_ETC/neutron/ml2_conf.ini)
  if [[ ! -e $AIO_VAR/neutron/.db_synced ]]; then
    neutron-db-manage "${cf[@]}" upgrade heads >$AIO_LOG/neutron-db-manage.log 2>&1 \
      || { tail -20 $AIO_LOG/neutron-db-manage.log; die "neutron-db-manage failed"; }
    touch $AIO_VAR/neutron/.db_synced
  fi
  start_bg neutron-server neutron-server "${cf[@]}" --log-file $AIO_LOG/neutron-server.log
  wait_for "neutron-server" 120 curl -fsS -o /dev/null $NEUTRON_URL/
}

start_agents() {
  local base=(--config-file $AIO_ETC/neutron/neutron.conf)
  start_bg neutron-openvswitch-agent neutron-openvswitch-agent "${base[@]}" \
    --config-file $AIO_ETC/neutron/openvswitch_agent.ini --log-file $AIO_LOG/neutron-openvswitch-agent.log
  if [[ $AIO_LB == 1 ]]; then
    # never in the OVS host's netns: it enslaves every tap* device it sees, OVS-plugged ones too
    # The agent and its privsep helpers (which do not keep PATH) must all get the ebtables wrapper: in a
    # private mount ns, an overlay puts it over /usr/sbin/ebtables (the rest of /usr/sbin shows through).
    mkdir -p $AIO_VAR/sbin-overlay/upper $AIO_VAR/sbin-overlay/work
    cp $AIO_VAR/bin/ebtables $AIO_VAR/sbin-overlay/upper/ebtables
    start_bg neutron-linuxbridge-agent ip netns exec $LBNS unshare -m --propagation private sh -c \
      "mount -t overlay overlay -o lowerdir=/usr/sbin,upperdir=$AIO_VAR/sbin-overlay/upper,workdir=$AIO_VAR/sbin-overlay/work /usr/sbin && exec \"\$0\" \"\$@\"" \
      neutron-linuxbridge-agent "${base[@]}" \
      --config-file $AIO_ETC/neutron/linuxbridge_agent.ini --log-file $AIO_LOG/neutron-linuxbridge-agent.log
  fi
  [[ $AIO_DHCP == 1 ]] && start_bg neutron-dhcp-agent neutron-dhcp-agent "${base[@]}" \
      --config-file $AIO_ETC/neutron/dhcp_agent.ini --log-file $AIO_LOG/neutron-dhcp-agent.log
  [[ $AIO_L3 == 1 ]] && start_bg neutron-l3-agent neutron-l3-agent "${base[@]}" \
      --config-file $AIO_ETC/neutron/l3_agent.ini --log-file $AIO_LOG/neutron-l3-agent.log
  # an agent counts when alive AND started after its pid file was written (old heartbeats linger)
  local tok; tok=$(admin_token)
  agent_alive() { # host binary pidfile
    local since; since=$(date -u -d "@$(stat -c %Y "$AIO_RUN/$3.pid")" '+%Y-%m-%d %H:%M:%S')
    curl -sS "$NEUTRON_URL/v2.0/agents?host=$1&binary=$2" -H "X-Auth-Token: $tok" \
      | jq -e --arg s "$since" '.agents[0] | .alive and (.started_at >= $s)' >/dev/null
  }
  wait_for "OVS agent" 180 agent_alive "$AGENT_HOST" neutron-openvswitch-agent neutron-openvswitch-agent
  [[ $AIO_LB == 1 ]] && wait_for "linuxbridge agent" 180 agent_alive "$AIO_LB_HOST" neutron-linuxbridge-agent neutron-linuxbridge-agent
  [[ $AIO_DHCP == 1 ]] && wait_for "DHCP agent" 180 agent_alive "$AGENT_HOST" neutron-dhcp-agent neutron-dhcp-agent
  [[ $AIO_L3 == 1 ]] && wait_for "L3 agent" 180 agent_alive "$AGENT_HOST" neutron-l3-agent neutron-l3-agent
  [[ $(ovs-vsctl get Bridge br-tun datapath_type) == netdev ]] || die "br-tun is not on the netdev datapath"
}

make_busybox_image() { # DOCKER-CMD...
  "$@" image inspect busybox:latest >/dev/null 2>&1 && return 0
  local d; d=$(mktemp -d)
  mkdir -p $d/bin $d/etc $d/proc $d/sys $d/dev $d/tmp $d/root $d/var/run $d/usr
  cp /bin/busybox $d/bin/busybox
  local a; for a in $($d/bin/busybox --list); do [[ $a == busybox ]] || ln -sf busybox $d/bin/$a; done
  ln -s bin $d/sbin; ln -s ../bin $d/usr/bin; ln -s ../bin $d/usr/sbin
  echo 'root:x:0:0:root:/root:/bin/sh' >$d/etc/passwd
  echo 'root:x:0:' >$d/etc/group
  tar -C $d -c . | "$@" import --change 'CMD ["sh"]' - busybox:latest >/dev/null
  rm -rf "$d"
}

DOCKER=/usr/bin/docker   # Debian's 20.10 CLI; the newer one earlier on PATH mismatches this daemon
start_docker() {
  [[ $AIO_DOCKER == 1 ]] || return 0
  mkdir -p $AIO_RUN/containerd /run/docker/plugins /etc/docker/plugins
  start_bg containerd containerd --config $AIO_ETC/containerd.toml
  # a socket file left from an earlier boot passes `test -S`: ask containerd itself
  wait_for "containerd" 30 ctr --address $AIO_RUN/containerd/containerd.sock version
  if ! $DOCKER info >/dev/null 2>&1; then
    # dockerd refuses to start while its pid file names a live process, and after a reboot it may name anyone
    alive dockerd || rm -f /var/run/docker.pid
    start_bg dockerd dockerd --containerd=$AIO_RUN/containerd/containerd.sock \
      -H unix:///var/run/docker.sock --pidfile=/var/run/docker.pid \
      --iptables=false --ip-forward=false --ip-masq=false --bridge=none --storage-driver=overlay2
    wait_for "dockerd" 60 $DOCKER info
  fi
  make_busybox_image $DOCKER
}

# A second dockerd = the second host: netns $LBNS, private mount ns, own managed containerd.
start_docker2() {
  [[ $AIO_DOCKER == 1 && $AIO_DOCKER2 == 1 ]] || return 0
  local d=$AIO_RUN/host2
  mkdir -p $d/plugins $AIO_ETC/host2-docker-plugins $AIO_VAR/docker2
  if ! $DOCKER -H unix://$d/docker.sock info >/dev/null 2>&1; then
    awk '$3 ~ /^cgroup2?$/ {print $3, $2, $4}' /proc/self/mounts >$d/cgroup-mounts
    cat >$d/run.sh <<SH
#!/bin/bash
set -e
# 'ip netns exec' remounted /sys, hiding the cgroup mounts dockerd needs
mount -t tmpfs -o mode=755 cgroup_root /sys/fs/cgroup
while read -r fs mp opts; do mkdir -p "\$mp"; mount -t "\$fs" -o "\$opts" "\$fs" "\$mp"; done <$d/cgroup-mounts
mount --bind $d/plugins /run/docker/plugins
mount --bind $AIO_ETC/host2-docker-plugins /etc/docker/plugins
# overlay mounts live in this mount ns, so containerd must too: hide the system one
mount -t tmpfs tmpfs /run/containerd
# pid files left from an earlier boot could name live strangers, and dockerd would not start
rm -f $d/docker.pid $d/docker/containerd/containerd.pid
exec dockerd --data-root=$AIO_VAR/docker2 --exec-root=$d/docker -H unix://$d/docker.sock --pidfile=$d/docker.pid \\
  --iptables=false --ip-forward=false --ip-masq=false --bridge=none --storage-driver=overlay2
SH
    chmod +x $d/run.sh
    start_bg dockerd-host2 ip netns exec $LBNS unshare -m --propagation private $d/run.sh
    wait_for "dockerd(host2)" 60 $DOCKER -H unix://$d/docker.sock info
  fi
  $DOCKER -H unix://$d/docker.sock image inspect busybox:latest >/dev/null 2>&1 \
    || $DOCKER save busybox:latest | $DOCKER -H unix://$d/docker.sock load >/dev/null
}

do_status() {
  mariadb-admin --connect-timeout=2 ping >/dev/null 2>&1 && echo "mariadb: ok" || echo "mariadb: DOWN"
  rabbitmqctl -q await_startup --timeout 3 >/dev/null 2>&1 && echo "rabbitmq: ok" || echo "rabbitmq: DOWN"
  curl -fsS -o /dev/null http://127.0.0.1:5000/v3 && echo "keystone: ok" || echo "keystone: DOWN"
  curl -fsS -o /dev/null $NEUTRON_URL/ && echo "neutron-server: ok" || echo "neutron-server: DOWN"
  ovs_running && echo "openvswitch: ok" || echo "openvswitch: DOWN"
  $DOCKER info >/dev/null 2>&1 && echo "dockerd: ok" || echo "dockerd: DOWN"
  if curl -fsS -o /dev/null $NEUTRON_URL/ 2>/dev/null; then
    curl -sS "$NEUTRON_URL/v2.0/agents" -H "X-Auth-Token: $(admin_token)" \
      | jq -r '.agents[] | "agent \(.binary) on \(.host): \(if .alive then "alive" else "DEAD" end)"'
  fi
  local f
  for f in $AIO_RUN/*.pid; do [[ -e $f ]] && { local n; n=$(basename "$f" .pid); alive "$n" && echo "pid $(cat "$f") $n"; }; done
  return 0
}

# Stops only what this script started: processes with a pid file in $AIO_RUN, OVS if we started it.
do_down() {
  mkdir -p $AIO_RUN
  stop_names kuryr-docker kuryr-cni-daemon
  stop_names dockerd-host2 dockerd; stop_name containerd
  stop_names neutron-l3-agent neutron-dhcp-agent neutron-linuxbridge-agent neutron-openvswitch-agent
  stop_names neutron-server keystone relay-$LBNS-5000 relay-5000 relay-$LBNS-5672 relay-5672 relay-$LBNS-9696 relay-9696
  if alive rabbitmq; then rabbitmqctl -q shutdown >/dev/null 2>&1 || true; stop_name rabbitmq; epmd -kill >/dev/null 2>&1 || true; fi
  if [[ -e $AIO_RUN/ovs.ours ]]; then /usr/share/openvswitch/scripts/ovs-ctl stop >/dev/null 2>&1 || true; rm -f $AIO_RUN/ovs.ours; fi
  if alive mariadb; then mariadb-admin shutdown >/dev/null 2>&1 || true; stop_name mariadb; fi
  # dnsmasq/haproxy spawned by the DHCP/L3 agents
  local f
  for f in $AIO_VAR/neutron/external/pids/*.pid $AIO_VAR/neutron/dhcp/*/pid; do
    # these pid files live under /var and outlast a reboot: stop only a process that is still one of theirs
    [[ -s $f ]] && tr '\0' ' ' <"/proc/$(cat "$f")/cmdline" | grep -qE 'dnsmasq|haproxy|keepalived' \
      && stop_pid "$(basename "$(dirname "$f")")" "$(cat "$f")"
  done 2>/dev/null || true
  for f in $AIO_RUN/*.pid; do [[ -e $f ]] && stop_name "$(basename "$f" .pid)"; done
  return 0
}

do_wipe() {
  do_down
  mkdir -p $AIO_RUN $AIO_LOG; install -d -o mysql -g mysql /run/mysqld
  # drop databases only with the services stopped (DROP waits forever on metadata locks otherwise)
  start_bg mariadb /usr/sbin/mariadbd --user=mysql
  wait_for "mariadb" 60 mariadb-admin --connect-timeout=2 ping
  mariadb -e "DROP DATABASE IF EXISTS keystone; DROP DATABASE IF EXISTS neutron;"
  mariadb-admin shutdown >/dev/null 2>&1 || true; stop_name mariadb
  if /usr/share/openvswitch/scripts/ovs-ctl --no-monitor start >/dev/null 2>&1; then
    local b; for b in br-int br-tun br-ex br-ul; do ovs-vsctl --if-exists del-br $b; done
    ovs-vsctl del-manager || true
    /usr/share/openvswitch/scripts/ovs-ctl stop >/dev/null 2>&1 || true
  fi
  local ns
  for ns in $(ip netns list | awk '{print $1}' | grep -E '^(qdhcp-|qrouter-|'"$LBNS"'$)'); do ip netns del "$ns"; done
  ip link del aio-ul0 2>/dev/null || true
  rm -rf $AIO_VAR/keystone $AIO_VAR/neutron $AIO_VAR/docker2 $AIO_VAR/bin $AIO_RUN
  echo "wiped"
}
