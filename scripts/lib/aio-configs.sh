# Configuration files of the all-in-one stack (sourced by scripts/aio.sh).

write_configs() {
  mkdir -p $AIO_ETC/keystone $AIO_ETC/neutron $AIO_VAR/keystone $AIO_VAR/neutron/lock $AIO_VAR/containerd \
           $AIO_LOG $AIO_RUN /etc/openstack /etc/mysql/mariadb.conf.d /etc/rabbitmq

  # MariaDB on loopback; relaxed flushing because this is a test rig
  cat >/etc/mysql/mariadb.conf.d/99-aio.cnf <<CNF
[mysqld]
bind-address = 127.0.0.1
skip-name-resolve
max_connections = 1000
innodb_flush_log_at_trx_commit = 2
innodb_buffer_pool_size = 256M
character-set-server = utf8mb4
collation-server = utf8mb4_general_ci
CNF

  # RabbitMQ: AMQP, epmd and Erlang distribution all on loopback
  cat >/etc/rabbitmq/rabbitmq-env.conf <<CNF
NODENAME=rabbit@localhost
NODE_IP_ADDRESS=127.0.0.1
NODE_PORT=5672
PID_FILE=/var/lib/rabbitmq/rabbit.pid
SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
export ERL_EPMD_ADDRESS=127.0.0.1
CNF

  cat >$AIO_ETC/keystone/keystone.conf <<CNF
[DEFAULT]
log_file = $AIO_LOG/keystone.log
[database]
connection = mysql+pymysql://keystone:$DB_PASS@127.0.0.1/keystone?charset=utf8
[token]
provider = fernet
expiration = 86400
[fernet_tokens]
key_repository = $AIO_VAR/keystone/fernet-keys
[credential]
key_repository = $AIO_VAR/keystone/credential-keys
[cache]
enabled = false
CNF

  cat >$AIO_ETC/neutron/neutron.conf <<CNF
[DEFAULT]
core_plugin = ml2
service_plugins = router,trunk,segments,qos
auth_strategy = keystone
bind_host = 127.0.0.1
bind_port = 9696
api_workers = 1
rpc_workers = 1
rpc_state_report_workers = 1
state_path = $AIO_VAR/neutron
api_paste_config = /etc/neutron/api-paste.ini
transport_url = rabbit://$RABBIT_USER:$RABBIT_PASS@127.0.0.1:5672/
allow_overlapping_ips = true
notify_nova_on_port_status_changes = false
notify_nova_on_port_data_changes = false
global_physnet_mtu = 1500
dhcp_agents_per_network = 1
agent_down_time = 30
# The agents double an RPC's timeout each time one times out (up to 600 s by default) and keep it until they
# restart: after a neutron-server restart a lost call then held new ports DOWN for over 5 min. On one host
# a call that takes 15 s is lost, so bound the wait (and with it the recovery time) at 30 s.
rpc_response_timeout = 15
rpc_response_max_timeout = 30
debug = false
[agent]
root_helper =
report_interval = 10
[database]
connection = mysql+pymysql://neutron:$DB_PASS@127.0.0.1/neutron?charset=utf8
[experimental]
linuxbridge = true
[keystone_authtoken]
www_authenticate_uri = http://127.0.0.1:5000
auth_url = http://127.0.0.1:5000
auth_type = password
project_domain_name = Default
user_domain_name = Default
project_name = service
username = neutron
password = $NEUTRON_PASS
region_name = $REGION
[oslo_concurrency]
lock_path = $AIO_VAR/neutron/lock
[oslo_messaging_notifications]
driver = noop
[quotas]
# Neutron's defaults (10 SGs, 100 rules, 100 networks) are easy to hit in test suites
quota_network = 1000
quota_subnet = 1000
quota_port = 5000
quota_router = 100
quota_security_group = 1000
quota_security_group_rule = 10000
quota_subnetpool = 1000
CNF

  cat >$AIO_ETC/neutron/ml2_conf.ini <<CNF
[ml2]
type_drivers = flat,vlan,vxlan
tenant_network_types = vxlan
mechanism_drivers = openvswitch,linuxbridge,l2population
extension_drivers = port_security,qos
[ml2_type_flat]
flat_networks = public
[ml2_type_vlan]
network_vlan_ranges = public
[ml2_type_vxlan]
vni_ranges = 1:1000
[securitygroup]
enable_security_group = true
CNF

  cat >$AIO_ETC/neutron/openvswitch_agent.ini <<CNF
[DEFAULT]
host = $AGENT_HOST
[agent]
tunnel_types = vxlan
l2_population = true
polling_interval = ${AIO_POLL:-1}
[ovs]
integration_bridge = br-int
tunnel_bridge = br-tun
datapath_type = netdev
local_ip = $UL_ROOT_IP
bridge_mappings = public:br-ex
[securitygroup]
firewall_driver = openvswitch
enable_security_group = true
CNF

  cat >$AIO_ETC/neutron/linuxbridge_agent.ini <<CNF
[DEFAULT]
host = $AIO_LB_HOST
[agent]
polling_interval = ${AIO_POLL:-1}
[linux_bridge]
physical_interface_mappings =
[vxlan]
enable_vxlan = true
local_ip = $UL_LB_IP
udp_dstport = 4789
l2_population = true
[securitygroup]
firewall_driver = iptables
enable_security_group = true
CNF

  cat >$AIO_ETC/neutron/dhcp_agent.ini <<CNF
[DEFAULT]
host = $AGENT_HOST
interface_driver = openvswitch
ovs_use_veth = true
dhcp_driver = neutron.agent.linux.dhcp.Dnsmasq
enable_isolated_metadata = false
force_metadata = false
dnsmasq_local_resolv = false
[ovs]
integration_bridge = br-int
CNF

  cat >$AIO_ETC/neutron/l3_agent.ini <<CNF
[DEFAULT]
host = $AGENT_HOST
interface_driver = openvswitch
ovs_use_veth = true
agent_mode = legacy
enable_metadata_proxy = false
[ovs]
integration_bridge = br-int
CNF

  # containerd private to this stack
  cat >$AIO_ETC/containerd.toml <<CNF
version = 2
root = "$AIO_VAR/containerd"
state = "$AIO_RUN/containerd"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$AIO_RUN/containerd/containerd.sock"
CNF

  write_credentials
}

write_credentials() {
  local rc
  mkrc() { # file user pass project
    cat >"$1" <<CNF
export OS_AUTH_URL=$KS_URL
export OS_IDENTITY_API_VERSION=3
export OS_AUTH_TYPE=password
export OS_USERNAME=$2
export OS_PASSWORD=$3
export OS_PROJECT_NAME=$4
export OS_USER_DOMAIN_NAME=Default
export OS_PROJECT_DOMAIN_NAME=Default
export OS_REGION_NAME=$REGION
export OS_INTERFACE=public
export AIO_AGENT_HOST=$AGENT_HOST
export AIO_LB_HOST=$AIO_LB_HOST
export AIO_LB_NETNS=$LBNS
CNF
    chmod 600 "$1"
  }
  mkrc $AIO_ETC/admin-openrc admin $ADMIN_PASS admin
  mkrc $AIO_ETC/demo-openrc demo $DEMO_PASS demo
  mkrc $AIO_ETC/alt-openrc alt_demo $ALT_PASS alt_demo
  mkrc $AIO_ETC/kuryr-openrc kuryr $KURYR_PASS service
  cloud() { # name user pass project
    printf '  %s:\n    auth: {auth_url: %s, username: %s, password: %s, project_name: %s, user_domain_name: Default, project_domain_name: Default}\n    region_name: %s\n    identity_api_version: 3\n' \
      "$1" "'$KS_URL'" "$2" "'$3'" "$4" "$REGION"
  }
  { echo "clouds:"; cloud aio-admin admin $ADMIN_PASS admin; cloud aio-demo demo $DEMO_PASS demo
    cloud aio-alt alt_demo $ALT_PASS alt_demo; cloud aio-kuryr kuryr $KURYR_PASS service; } >/etc/openstack/clouds.yaml
  chmod 600 /etc/openstack/clouds.yaml
}
