/**
 * The option registry: every group and option kuryr.conf may hold, with the Python defaults of kuryr-libnetwork
 * (KLN `config.py`), kuryr-lib (KL `kuryr/lib/config.py`), keystoneauth's session/auth options, oslo.log and the
 * kuryr-kubernetes groups the CNI daemon reads (option names as the Python kuryr-libnetwork and kuryr-kubernetes spell them; see docs/config.md).
 * Names stay exactly as in kuryr.conf. Options marked `tsOnly` are our additions.
 */
import {
  bool, choice, dict, float, int, list, port, str, uri,
  type OptSpec, type OptValue,
} from './option-types.js';

const TS = '(TS-only) ';
const PORT_DRIVER_VETH = 'kuryr_libnetwork.port_driver.drivers.veth';
const BINDING_VETH = 'kuryr.lib.binding.drivers.veth';

/** oslo.log options registered in [DEFAULT] by `log.register_options(CONF)`. */
const OSLO_LOG = {
  debug: bool(false, 'If set to true, the logging level will be set to DEBUG instead of INFO.'),
  log_config_append: str(null, 'Logging configuration file (Python logging format); not used by the TS port.', { deprecatedNames: ['log-config', 'log_config'], ignored: true }),
  log_date_format: str('%Y-%m-%d %H:%M:%S', 'Format string for %(asctime)s in log records.', { ignored: true }),
  log_file: str(null, 'Log file name; unset logs to stderr.', { deprecatedNames: ['logfile'] }),
  log_dir: str(null, 'Base directory for relative log_file paths.', { deprecatedNames: ['logdir'] }),
  watch_log_file: bool(false, 'Reopen the log file when it is moved or removed.', { ignored: true }),
  use_syslog: bool(false, 'Log to syslog.', { ignored: true }),
  use_journal: bool(false, 'Log to the systemd journal.', { ignored: true }),
  syslog_log_facility: str('LOG_USER', 'Syslog facility.', { ignored: true }),
  use_json: bool(false, 'Use JSON formatting for logging.'),
  use_stderr: bool(false, 'Log output to standard error.'),
  use_eventlog: bool(false, 'Log to the Windows event log.', { ignored: true }),
  log_color: bool(false, 'Colourise console output.', { ignored: true }),
  log_rotate_interval: int(1, 'Log rotation interval.', { ignored: true }),
  log_rotate_interval_type: str('days', 'Rotation interval type.', { choices: ['Seconds', 'Minutes', 'Hours', 'Days', 'Weekday', 'Midnight'], ignoreCase: true, ignored: true }),
  max_logfile_count: int(30, 'Maximum number of rotated log files.', { ignored: true }),
  max_logfile_size_mb: int(200, 'Log file maximum size in MB.', { ignored: true }),
  log_rotation_type: choice(['interval', 'size', 'none'], 'none', 'Log rotation type.', { ignored: true }),
  logging_context_format_string: str('%(asctime)s.%(msecs)03d %(process)d %(levelname)s %(name)s [%(global_request_id)s %(request_id)s %(user_identity)s] %(instance)s%(message)s', 'Python log format with context.', { ignored: true }),
  logging_default_format_string: str('%(asctime)s.%(msecs)03d %(process)d %(levelname)s %(name)s [-] %(instance)s%(message)s', 'Python log format without context.', { ignored: true }),
  logging_debug_format_suffix: str('%(funcName)s %(pathname)s:%(lineno)d', 'Suffix for DEBUG records.', { ignored: true }),
  logging_exception_prefix: str('%(asctime)s.%(msecs)03d %(process)d ERROR %(name)s %(instance)s', 'Prefix for exception lines.', { ignored: true }),
  logging_user_identity_format: str('%(user)s %(project)s %(domain)s %(system_scope)s %(user_domain)s %(project_domain)s', 'Format of user_identity.', { ignored: true }),
  default_log_levels: list([], 'Package=level pairs; the TS port ignores them.', { ignored: true }),
  publish_errors: bool(false, 'Enable error event publishing.', { ignored: true }),
  instance_format: str('[instance: %(uuid)s] ', 'Instance format in log records.', { ignored: true }),
  instance_uuid_format: str('[instance: %(uuid)s] ', 'Instance UUID format in log records.', { ignored: true }),
  rate_limit_interval: int(0, 'Log rate limiting interval (s).', { ignored: true }),
  rate_limit_burst: int(0, 'Log rate limiting burst.', { ignored: true }),
  rate_limit_except_level: str('CRITICAL', 'Level not rate limited.', { ignored: true }),
  fatal_deprecations: bool(false, 'Make deprecations fatal.', { ignored: true }),
};

/** [DEFAULT]: kuryr-libnetwork, kuryr-lib core, oslo.log and our own additions. */
export const DEFAULT_OPTS = {
  pybasedir: str(null, 'Directory where Kuryr python module is installed (unused at runtime).'),
  kuryr_uri: uri((c) => c.env['OS_KURYR_URI'] ?? 'http://127.0.0.1:23750', 'Kuryr URL for accessing Kuryr through json rpc (env OS_KURYR_URI).'),
  capability_scope: choice(['local', 'global'], (c) => (c.env['CAPABILITY_SCOPE'] ?? 'local') as 'local', 'Kuryr plugin scope reported to libnetwork (env CAPABILITY_SCOPE).'),
  local_default_address_space: str('no_address_space', 'There is no address-space by default in neutron.'),
  global_default_address_space: str('no_address_space', 'There is no address-space by default in neutron.'),
  port_driver: str(PORT_DRIVER_VETH, 'Driver for the desired deployment model (deprecated for removal, never read).'),
  default_port_driver: str(PORT_DRIVER_VETH, 'Default driver for the desired deployment model.'),
  enabled_port_drivers: list([PORT_DRIVER_VETH], 'Available port drivers.'),
  process_external_connectivity: bool(true, 'Do processing external connectivity (exposed ports as security groups).'),
  ssl_cert_file: str('/var/lib/kuryr/certs/cert.pem', 'TLS certificate file for kuryr_uri.'),
  ssl_key_file: str('/var/lib/kuryr/certs/key.pem', 'Private key of ssl_cert_file.'),
  enable_ssl: bool(false, 'Serve kuryr_uri over TLS.'),
  bindir: str('/usr/libexec/kuryr', 'Directory for Kuryr vif binding executables.'),
  subnetpool_name_prefix: str('kuryrPool', 'Neutron subnetpool name will be prefixed by this.'),
  deployment_type: str('baremetal', 'baremetal or nested-containers are the supported values.'),
  ...OSLO_LOG,
  socket_path: str('/run/docker/plugins/kuryr.sock', `${TS}Unix socket the libnetwork remote driver listens on.`, { tsOnly: true }),
  socket_mode: str('0660', `${TS}Octal file mode of socket_path.`, { tsOnly: true }),
  listen_mode: choice(['unix', 'tcp'], 'unix', `${TS}unix: serve socket_path; tcp: serve kuryr_uri and write the kuryr.spec discovery file.`, { tsOnly: true }),
  host: str((c) => c.hostname, `${TS}Value of binding:host_id on created ports; defaults to the host name.`, { tsOnly: true }),
  wait_for_active: bool(true, `${TS}Wait for a port to become ACTIVE before answering Join.`, { tsOnly: true }),
  active_timeout: float(30, `${TS}Seconds to wait for a port to become ACTIVE.`, { tsOnly: true, min: 0 }),
  shutdown_timeout: float(120, `${TS}Seconds SIGTERM waits for running calls to finish or roll back before the daemon exits.`, { tsOnly: true, min: 0 }),
  docker_host: str('unix:///var/run/docker.sock', `${TS}Docker Engine API of this host (names in errors, the garbage collector).`, { tsOnly: true }),
  gc_interval: float(300, `${TS}Seconds between garbage collector rounds in the daemon, which also runs one at start-up (0: off).`, { tsOnly: true, min: 0 }),
  gc_grace: float(60, `${TS}Seconds a leftover must have existed before the garbage collector removes it.`, { tsOnly: true, min: 0 }),
  health_port: port(23751, `${TS}Loopback port of the Docker driver's /alive and /ready; 0 turns them off.`, { tsOnly: true }),
  metrics_port: port(23752, `${TS}Loopback port of the Docker driver's Prometheus /metrics; 0 turns it off.`, { tsOnly: true }),
};

/** keystoneauth plugin names accepted in [neutron] auth_type. */
export const AUTH_TYPES = [
  'password', 'v2password', 'v3password', 'token', 'v2token', 'v3token',
  'v3applicationcredential', 'admin_token', 'noauth', 'none', 'http_basic',
] as const;

/** [neutron]: kuryr-lib options plus keystoneauth session and auth options. */
export const NEUTRON_OPTS = {
  enable_dhcp: str('True', 'Enable or Disable dhcp for neutron subnets (a string, sent verbatim).'),
  default_subnetpool_v4: str('kuryr', 'Name of default subnetpool version 4.'),
  default_subnetpool_v6: str('kuryr6', 'Name of default subnetpool version 6.'),
  vif_plugging_is_fatal: bool(false, 'Whether a plugging operation is failed if the port to plug does not become active.'),
  vif_plugging_timeout: int(0, 'Seconds to wait for port to become active.'),
  region_name: str(null, 'Region name of the neutron endpoint to use.'),
  endpoint_type: choice(['public', 'admin', 'internal'], 'public', 'Type of the neutron endpoint to look up in the keystone catalog.'),
  // keystoneauth session options
  cafile: str(null, 'PEM encoded Certificate Authority to use when verifying HTTPs connections.'),
  certfile: str(null, 'PEM encoded client certificate cert file.'),
  keyfile: str(null, 'PEM encoded client certificate key file.'),
  insecure: bool(false, 'Verify HTTPS connections.'),
  timeout: int(null, 'Timeout value for http requests (s).'),
  collect_timing: bool(false, 'Collect per-API call timing information.', { ignored: true }),
  split_loggers: bool(false, 'Log requests to multiple loggers.', { ignored: true }),
  // keystoneauth auth options
  auth_type: choice(AUTH_TYPES, null, 'Authentication type to load.', { deprecatedNames: ['auth_plugin'] }),
  auth_section: str(null, 'Config section from which to load plugin specific options (not followed by the TS port).', { ignored: true }),
  auth_url: str(null, 'Authentication URL.'),
  system_scope: str(null, 'Scope for system operations.'),
  domain_id: str(null, 'Domain ID to scope to.'),
  domain_name: str(null, 'Domain name to scope to.'),
  project_id: str(null, 'Project ID to scope to.', { deprecatedNames: ['tenant_id', 'tenant-id'] }),
  project_name: str(null, 'Project name to scope to.', { deprecatedNames: ['tenant_name', 'tenant-name'] }),
  project_domain_id: str(null, 'Domain ID containing project.'),
  project_domain_name: str(null, 'Domain name containing project.'),
  trust_id: str(null, 'ID of the trust to use as a trustee use.'),
  default_domain_id: str(null, 'Optional domain ID to use with v3 and v2 parameters.'),
  default_domain_name: str(null, 'Optional domain name to use with v3 API and v2 parameters.'),
  user_id: str(null, 'User ID.'),
  username: str(null, 'Username.', { deprecatedNames: ['user_name', 'user-name'] }),
  user_domain_id: str(null, "User's domain id."),
  user_domain_name: str(null, "User's domain name."),
  password: str(null, "User's password.", { secret: true }),
  token: str(null, 'Token to authenticate with.', { secret: true }),
  application_credential_id: str(null, 'Application credential ID.'),
  application_credential_name: str(null, 'Application credential name.'),
  application_credential_secret: str(null, 'Application credential auth secret.', { secret: true }),
  // written by devstack's configure_auth_token_middleware into [neutron]; keystonemiddleware options we ignore
  interface: str(null, 'Interface to use for the Identity API endpoint (written by devstack; ignored).', { ignored: true }),
  www_authenticate_uri: str(null, 'keystonemiddleware option written by devstack; ignored.', { ignored: true, deprecatedNames: ['auth_uri'] }),
  memcached_servers: list([], 'keystonemiddleware option written by devstack; ignored.', { ignored: true }),
  signing_dir: str(null, 'keystonemiddleware option written by old devstack; ignored.', { ignored: true }),
  service_token_roles_required: bool(false, 'keystonemiddleware option written by devstack; ignored.', { ignored: true }),
};

/** [binding] (kuryr-lib). */
export const BINDING_OPTS = {
  veth_dst_prefix: str('eth', 'The name prefix of the veth endpoint put inside the container.'),
  default_driver: str(BINDING_VETH, 'Driver to use for binding and unbinding ports.', { deprecatedNames: ['driver'] }),
  enabled_drivers: list([BINDING_VETH], 'Drivers to use for binding and unbinding ports.'),
  link_iface: str('', 'Name of the Nova instance interface to link the virtual devices to.'),
};

/** [kubernetes] (kuryr-kubernetes). */
export const KUBERNETES_OPTS = {
  api_root: str((c) => c.env['K8S_API'] ?? 'https://localhost:6443', 'The root URL of the Kubernetes API (env K8S_API).'),
  ssl_client_crt_file: str(null, 'Absolute path to client cert to connect to HTTPS K8S_API.'),
  ssl_client_key_file: str(null, 'Absolute path client key file to connect to HTTPS K8S_API.'),
  ssl_ca_crt_file: str('/var/run/secrets/kubernetes.io/serviceaccount/ca.crt', 'Absolute path to ca cert file to connect to HTTPS K8S_API.'),
  ssl_verify_server_crt: bool(false, 'HTTPS K8S_API server identity verification.'),
  token_file: str('/var/run/secrets/kubernetes.io/serviceaccount/token', 'The token to talk to the k8s API.'),
  pod_project_driver: str('default', 'The driver to determine OpenStack project for pod ports.'),
  service_project_driver: str('default', 'The driver to determine OpenStack project for services.'),
  namespace_project_driver: str('default', 'The driver to determine OpenStack project for namespaces.'),
  network_policy_project_driver: str('default', 'The driver to determine OpenStack project for network policies.'),
  pod_subnets_driver: str('default', 'The driver to determine Neutron subnets for pod ports.'),
  service_subnets_driver: str('default', 'The driver to determine Neutron subnets for services.'),
  pod_security_groups_driver: str('default', 'The driver to determine Neutron security groups for pods.'),
  service_security_groups_driver: str('default', 'The driver to determine Neutron security groups for services.'),
  pod_vif_driver: str('neutron-vif', 'The driver that provides VIFs for Kubernetes Pods.'),
  endpoints_lbaas_driver: str('lbaasv2', 'The driver that provides LoadBalancers for Kubernetes Endpoints.'),
  endpoints_driver_octavia_provider: str('default', 'The Octavia load balancer provider.'),
  vif_pool_driver: str('noop', 'The driver that manages VIFs pools for Kubernetes Pods.'),
  nodes_subnets_driver: str('config', 'The driver that manages listing K8s nodes subnet_ids.'),
  port_debug: bool(false, 'Enable port debug to force kuryr port names to be set to their corresponding pod names.'),
  service_public_ip_driver: str('neutron_floating_ip', 'The driver that provides external IP for LB at Kubernetes.'),
  enable_manager: bool(false, 'Enable Manager to manage the pools.'),
  watch_retry_timeout: int(60, 'Time (in seconds) the watcher retries watching for.'),
  watch_connection_timeout: int(30, 'TCP connection timeout (s) for the watcher connections to K8s API.'),
  watch_read_timeout: int(60, 'TCP read timeout (s) for the watcher connections to K8s API.'),
  watch_reconcile_period: int(120, 'Period (s) of reconciling the watched objects; 0 disables.'),
  enabled_handlers: list(['vif', 'endpoints', 'service', 'kuryrloadbalancer', 'kuryrport'], 'The comma-separated handlers that should be registered for watching.'),
  controller_ha: bool(false, 'Enable kuryr-controller active/passive HA.'),
  controller_ha_elector_port: port(16401, 'Port on which leader-elector pod is listening to.'),
  network_policy_driver: str('default', 'Driver for network policies.'),
  multi_vif_drivers: list(['noop'], 'The drivers that provide additional VIFs for Kubernetes Pods.'),
  additional_ifname_prefix: str('eth', 'The prefix to use for additional vifs created by multi_vif drivers.'),
  use_events: bool(true, 'Use Kubernetes Events objects to indicate status of Kuryr created OpenStack objects.'),
};

/** [neutron_defaults] (kuryr-kubernetes). */
export const NEUTRON_DEFAULTS_OPTS = {
  project: str(null, 'Default OpenStack project ID for Kubernetes resources.'),
  pod_subnet: str(null, 'Default Neutron subnet ID for Kubernetes pods.'),
  pod_subnets: list([], `${TS}Neutron subnet IDs for pods (one per IP family).`, { tsOnly: true }),
  pod_security_groups: list([], 'Default Neutron security groups\' IDs for Kubernetes pods.'),
  ovs_bridge: str(null, 'Default OpenVSwitch integration bridge (sample: br-int).'),
  service_subnet: str(null, 'Default Neutron subnet ID for Kubernetes services.'),
  external_svc_net: str(null, 'Default external network ID for Kubernetes services.'),
  external_svc_subnet: str(null, 'Optional external subnet ID for Kubernetes services.'),
  network_device_mtu: int(0, 'Default MTU setting for network interface; 0 uses the Neutron MTU.'),
  lbaas_activation_timeout: int(300, 'Time (s) that kuryr controller waits for LBaaS to be activated.'),
  subnet_mapping: dict('driverType:subnet-id mapping.'),
  resource_tags: list([], 'List of tags that will be applied to all OpenStack resources created by Kuryr.'),
};

/** [cni_daemon] (kuryr-kubernetes, plus our unix socket). */
export const CNI_DAEMON_OPTS = {
  daemon_enabled: bool(true, 'Enable CNI Daemon configuration (deprecated, always on).', { ignored: true }),
  bind_address: str('127.0.0.1:5036', 'Bind address for CNI daemon HTTP server.'),
  socket_path: str('/run/kuryr/cni.sock', `${TS}Unix socket of the CNI daemon API (used instead of bind_address when set).`, { tsOnly: true }),
  worker_num: int(30, 'Maximum number of processes that will be spawned to process requests.', { min: 1 }),
  vif_annotation_timeout: int(60, 'Time (s) the CNI daemon waits for VIF annotation/KuryrPort.'),
  pyroute2_timeout: int(10, 'Kuryr uses pyroute2 library to manipulate networking; timeout (s) for its operations.'),
  docker_mode: bool(false, 'Set to True when you are running kuryr-daemon inside a Docker container.'),
  netns_proc_dir: str(null, 'When running in Docker mode, the mountpoint of the host /proc.'),
  cni_failures_count: int(3, 'Maximum number of consecutive failures of kuryr-daemon when processing requests.'),
};

/** [cni_health_server] (kuryr-kubernetes). */
export const CNI_HEALTH_SERVER_OPTS = {
  port: port(8090, 'Port for CNI Health HTTP Server (/alive, /ready on 127.0.0.1; 0 turns it off).'),
  max_memory_usage: int(-1, 'Maximum memory usage (MiB) for CNI Health Server process; -1 disables.'),
  cg_path: str('/sys/fs/cgroup/memory/system.slice/kuryr-cni.service', 'sysfs path to the CNI cgroup.'),
};

/** [pod_vif_nested] (kuryr-kubernetes). */
export const POD_VIF_NESTED_OPTS = {
  worker_nodes_subnets: list([], 'Neutron subnet IDs for k8s worker node VMs.'),
  rev_update_attempts: int(3, 'How many time to try to re-update the neutron resource when revision has been changed.'),
};

/** [namespace_subnet] (kuryr-kubernetes), read with `[kubernetes] pod_subnets_driver = namespace`. */
export const NAMESPACE_SUBNET_OPTS = {
  pod_router: str(null, 'Default Neutron router ID where namespace subnets are attached.'),
  pod_subnet_pool: str(null, 'Default Neutron subnet pool ID where namespace subnets are allocated from.'),
  pod_subnet_pool_v6: str(null, `${TS}IPv6 subnet pool ID: each namespace also gets a subnet from it (dual-stack pods; pod_subnet_pool is then the IPv4 pool).`, { tsOnly: true }),
  namespace_projects: dict(`${TS}namespace:project-id pairs: the project owning a namespace's network, subnet, group and pod ports (else [neutron_defaults] project).`, { tsOnly: true }),
};

/** [vhostuser] (kuryr-kubernetes). */
export const VHOSTUSER_OPTS = {
  mount_point: str('/var/cni/vhostuser', 'Path where vhost-user port will be created; also the mount point for the Pod.'),
  ovs_vhu_path: str('/var/run/openvswitch/', 'Path where OVS keeps socket files for vhost-user ports.'),
};

/** [nested_dpdk] (kuryr-kubernetes). */
export const NESTED_DPDK_OPTS = {
  dpdk_driver: str('uio_pci_generic', 'The DPDK driver that the device will be bound to after it is unbound from the kernel driver.'),
  pci_mount_point: str('/var/pci_address', 'Directory where PCI address files are written.'),
};

/** [prometheus_exporter] (kuryr-kubernetes). */
export const PROMETHEUS_EXPORTER_OPTS = {
  controller_exporter_port: port(9654, 'Port for the Controller Prometheus exporter.'),
  cni_exporter_port: port(9655, 'Port for the CNI Prometheus exporter (/metrics on 127.0.0.1; 0 turns it off).'),
};

/** [vif_pool] (kuryr-kubernetes names; `enabled` is ours): pools of pre-made, pre-plugged ports. */
export const VIF_POOL_OPTS = {
  enabled: bool(false, `${TS}Serve Docker endpoints (kuryr serve docker) and pods (kuryr serve cni) from pools of ports created, bound and plugged ahead of time.`, { tsOnly: true }),
  ports_pool_min: int(5, 'Minimum number of ready ports per pool; below it a batch is created.', { min: 0 }),
  ports_pool_max: int(20, 'Maximum number of ready ports per pool; a returned port above it is deleted (0 = no limit).', { min: 0 }),
  ports_pool_batch: int(10, 'Number of ports created in one bulk request.', { min: 1 }),
  ports_pool_update_frequency: int(20, 'Seconds between refills of pools below ports_pool_min.', { min: 0 }),
};

/** Every group we own, by its kuryr.conf name. Groups not listed here are ignored, as oslo ignores them. */
export const OPTION_GROUPS = {
  DEFAULT: DEFAULT_OPTS,
  neutron: NEUTRON_OPTS,
  binding: BINDING_OPTS,
  kubernetes: KUBERNETES_OPTS,
  neutron_defaults: NEUTRON_DEFAULTS_OPTS,
  cni_daemon: CNI_DAEMON_OPTS,
  cni_health_server: CNI_HEALTH_SERVER_OPTS,
  pod_vif_nested: POD_VIF_NESTED_OPTS,
  namespace_subnet: NAMESPACE_SUBNET_OPTS,
  vhostuser: VHOSTUSER_OPTS,
  nested_dpdk: NESTED_DPDK_OPTS,
  prometheus_exporter: PROMETHEUS_EXPORTER_OPTS,
  vif_pool: VIF_POOL_OPTS,
} as const;

/** A registered group name. */
export type GroupName = keyof typeof OPTION_GROUPS;

type ValueOf<S> = S extends OptSpec<infer T> ? T : never;
/** The typed values of one group's options, keyed by their kuryr.conf names. */
export type GroupValues<G extends GroupName> = { [K in keyof (typeof OPTION_GROUPS)[G]]: ValueOf<(typeof OPTION_GROUPS)[G][K]> };

/** [DEFAULT] values. */
export type DefaultGroup = GroupValues<'DEFAULT'>;
/** [neutron] values. */
export type NeutronGroup = GroupValues<'neutron'>;
/** [binding] values. */
export type BindingGroup = GroupValues<'binding'>;
/** [kubernetes] values. */
export type KubernetesGroup = GroupValues<'kubernetes'>;
/** [neutron_defaults] values. */
export type NeutronDefaultsGroup = GroupValues<'neutron_defaults'>;
/** [cni_daemon] values. */
export type CniDaemonGroup = GroupValues<'cni_daemon'>;

/** True when `group` is one of ours (exact name: `DEFAULT` upper case, the others lower case). */
export function isGroupName(group: string): group is GroupName {
  return Object.hasOwn(OPTION_GROUPS, group);
}

/** The spec of `group.name`, or undefined. */
export function findOption(group: GroupName, name: string): OptSpec | undefined {
  const opts = OPTION_GROUPS[group] as Record<string, OptSpec>;
  return Object.hasOwn(opts, name) ? opts[name] : undefined;
}

/** Options of a group in registration order. */
export function groupOptions(group: GroupName): Array<[string, OptSpec]> {
  return Object.entries(OPTION_GROUPS[group] as Record<string, OptSpec>);
}

export type { OptSpec, OptValue };
