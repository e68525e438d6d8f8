# Kuryr itself, the main job of scripts/aio.sh (sourced): what devstack does for the Python driver, plus the
# CNI side of seed 004, so that both seeds' paths work right after `aio.sh up`:
#   - the default subnet pools `kuryr` (10.10.0.0/16, /24 blocks) and `kuryr6` (fd10:10::/48, /64 blocks), shared;
#   - project `k8s` with network `k8s-pod-net`, subnet `k8s-pod-subnet` (10.0.0.64/26) and security group
#     `k8s-pod-sg`, written as [neutron_defaults] into /etc/kuryr/kuryr-cni.conf (regenerated on every `up`);
#   - the npm package built from this checkout and installed like an operator would (`npm install -g` of the
#     `npm pack` tarball into /usr/local: compiled JavaScript, production dependencies only);
#   - the CNI plugin /opt/cni/bin/kuryr-cni and /etc/cni/net.d/10-kuryr.conflist;
#   - the daemons `kuryr serve docker` and `kuryr serve cni`, restarted when the installed package changed.
KURYR_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
KURYR_PREFIX=/usr/local
KURYR_PKG=$KURYR_PREFIX/lib/node_modules/kuryr-ts
KURYR_BIN=$KURYR_PREFIX/bin/kuryr
KURYR_CNI_CONF=/etc/kuryr/kuryr-cni.conf
KURYR_POOL_V4=10.10.0.0/16 KURYR_POOL_V6=fd10:10::/48 KURYR_POD_CIDR=10.0.0.64/26

kuryr_wanted() { [[ ${AIO_KURYR:-1} == 1 && $AIO_DOCKER == 1 ]]; }

# Neutron objects both seeds' paths need; find-or-create, so `up` stays idempotent.
kuryr_neutron_objects() {
  mkdir -p /etc/kuryr
  /usr/bin/python3 - "$KURYR_CNI_CONF.tmp" <<PY
import sys
from keystoneauth1.identity import v3
from keystoneauth1 import session
from keystoneclient.v3 import client
sess = session.Session(auth=v3.Password(auth_url='$KS_URL', username='admin', password='$ADMIN_PASS',
       project_name='admin', user_domain_id='default', project_domain_id='default'))
ks = client.Client(session=sess)
net = {'service_type': 'network', 'interface': 'public', 'region_name': '$REGION'}
def find(kind, **q):
    query = '&'.join(f'{k}={v}' for k, v in q.items())
    return sess.get(f'/v2.0/{kind}s?{query}', endpoint_filter=net).json()[f'{kind}s']
def one(kind, body, **q):
    found = find(kind, **q)
    return found[0] if found else sess.post(f'/v2.0/{kind}s', json={kind: body}, endpoint_filter=net).json()[kind]
one('subnetpool', {'name': 'kuryr', 'prefixes': ['$KURYR_POOL_V4'], 'default_prefixlen': 24, 'shared': True}, name='kuryr')
one('subnetpool', {'name': 'kuryr6', 'prefixes': ['$KURYR_POOL_V6'], 'default_prefixlen': 64, 'shared': True}, name='kuryr6')
projects = [p for p in ks.projects.list(domain='default') if p.name == 'k8s']
k8s = projects[0] if projects else ks.projects.create(name='k8s', domain='default', description='pods of kuryr serve cni')
n = one('network', {'name': 'k8s-pod-net', 'project_id': k8s.id}, name='k8s-pod-net', project_id=k8s.id)
s = one('subnet', {'name': 'k8s-pod-subnet', 'network_id': n['id'], 'ip_version': 4, 'cidr': '$KURYR_POD_CIDR',
        'enable_dhcp': False, 'project_id': k8s.id}, name='k8s-pod-subnet', network_id=n['id'])
sg = one('security_group', {'name': 'k8s-pod-sg', 'project_id': k8s.id, 'description': 'pods: ICMP, TCP and UDP in'},
         name='k8s-pod-sg', project_id=k8s.id)
have = {(r['protocol'], r['ethertype']) for r in find('security_group_rule', security_group_id=sg['id']) if r['direction'] == 'ingress'}
for proto in ('icmp', 'tcp', 'udp'):
    if (proto, 'IPv4') not in have:
        sess.post('/v2.0/security-group-rules', endpoint_filter=net, json={'security_group_rule': {
            'security_group_id': sg['id'], 'direction': 'ingress', 'ethertype': 'IPv4', 'protocol': proto,
            'remote_ip_prefix': '0.0.0.0/0', 'project_id': k8s.id}})
with open(sys.argv[1], 'w') as f:
    f.write(f'''# Written by scripts/aio.sh on every 'up' (seed 004's pod network); /etc/kuryr/kuryr.conf overrides it.
[neutron_defaults]
project = {k8s.id}
pod_subnet = {s['id']}
pod_security_groups = {sg['id']}
ovs_bridge = br-int
''')
PY
  mv -f "$KURYR_CNI_CONF.tmp" "$KURYR_CNI_CONF"
}

# The operator's file: written once, left alone after that.
kuryr_conf() {
  mkdir -p /etc/kuryr
  [[ -e /etc/kuryr/kuryr.conf ]] || cat >/etc/kuryr/kuryr.conf <<CNF
[DEFAULT]
capability_scope = local
[neutron]
auth_type = password
auth_url = $KS_URL
username = kuryr
password = $KURYR_PASS
project_name = service
user_domain_name = Default
project_domain_name = Default
region_name = $REGION
CNF
  chmod 600 /etc/kuryr/kuryr.conf
}

# Sources that make up the package; a change means build, pack and install again.
kuryr_source_sum() {
  (cd "$KURYR_ROOT" && { find src packaging cni -type f 2>/dev/null || true; ls scripts/cni-install.sh scripts/cni-build-shim.sh package.json package-lock.json; } \
    | sort | xargs cat | sha256sum | cut -c1-16)
}

KURYR_REINSTALLED=0
install_kuryr() {
  kuryr_wanted || return 0
  local sum; sum=$(kuryr_source_sum)
  if [[ -x $KURYR_BIN && -e $KURYR_PKG/dist/kuryr-cni.js && $(cat "$AIO_VAR/kuryr-package.sum" 2>/dev/null) == "$sum" ]]; then
    log "kuryr package $sum already installed"
  else
    # npm ci only where there is no node_modules at all: through a symlinked one it would empty the link's target
    if [[ ! -e $KURYR_ROOT/node_modules && ! -L $KURYR_ROOT/node_modules ]]; then
      (cd "$KURYR_ROOT" && npm ci --no-audit --no-fund >"$AIO_LOG/npm-ci.log" 2>&1) || { tail -20 "$AIO_LOG/npm-ci.log"; die "npm ci failed"; }
    fi
    [[ -x $KURYR_ROOT/node_modules/.bin/tsc ]] || die "$KURYR_ROOT/node_modules has no build tools (run npm ci there)"
    local out=$AIO_VAR/kuryr-pack tgz
    rm -rf "$out"; mkdir -p "$out"
    # npm pack runs `prepack` = `npm run build` (tsc + the kuryr-cni bundle)
    tgz=$(cd "$KURYR_ROOT" && npm pack --silent --pack-destination "$out" 2>>"$AIO_LOG/npm-pack.log" | tail -1) \
      || { tail -20 "$AIO_LOG/npm-pack.log"; die "npm pack failed"; }
    npm install -g --prefix "$KURYR_PREFIX" --no-audit --no-fund "$out/$tgz" >>"$AIO_LOG/npm-install.log" 2>&1 \
      || { tail -20 "$AIO_LOG/npm-install.log"; die "npm install -g $tgz failed"; }
    echo "$sum" >"$AIO_VAR/kuryr-package.sum"
    KURYR_REINSTALLED=1
    log "installed $tgz into $KURYR_PREFIX ($($KURYR_BIN --version 2>/dev/null || echo '?'))"
  fi
  bash "$KURYR_PKG/scripts/cni-install.sh" --from "$KURYR_PKG/dist/kuryr-cni.js" --conf-dir /etc/cni/net.d >/dev/null
}

start_kuryr() {
  kuryr_wanted || return 0
  kuryr_conf
  if [[ $KURYR_REINSTALLED == 1 ]]; then stop_names kuryr-docker kuryr-cni-daemon; fi
  start_bg kuryr-docker "$KURYR_BIN" serve docker --config-file /etc/kuryr/kuryr.conf
  start_bg kuryr-cni-daemon "$KURYR_BIN" serve cni --config-file "$KURYR_CNI_CONF" --config-file /etc/kuryr/kuryr.conf
  wait_for "kuryr serve docker" 60 curl -fsS -o /dev/null -X POST --unix-socket /run/docker/plugins/kuryr.sock http://x/Plugin.Activate
  wait_for "kuryr serve cni" 60 curl -fsS -o /dev/null -X POST --unix-socket /run/kuryr/cni.sock http://x/Cni.Exec \
    -d '{"env":{"CNI_COMMAND":"VERSION"},"config":{"cniVersion":"1.0.0"}}'
}
