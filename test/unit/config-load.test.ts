import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { ConfigError } from '../../src/common/errors.js';
import { defaultConfig, loadConfig, type KuryrConfig, type LoadConfigOptions } from '../../src/config/load.js';
import { formatEffectiveConfig, parseConfigArgs, redactUrlPasswords } from '../../src/config/show.js';

const FIXTURES = resolve(dirname(fileURLToPath(import.meta.url)), '../fixtures/config');
const fixture = (name: string): string => join(FIXTURES, name);

/** A temp dir with the given files; removed after the test. */
function tempFiles(t: { after: (fn: () => void) => void }, files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'kuryr-config-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

/** Load with an empty environment and no clouds.yaml unless the test gives them. */
function load(options: Partial<LoadConfigOptions> & { configFiles: string[] }): KuryrConfig {
  return loadConfig({ env: {}, hostname: 'testhost', cloudsYamlPaths: [], ...options });
}

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    assert.equal(err.code, 'KURYR_ERR_CONFIG');
    return err;
  }
  assert.fail('expected a ConfigError');
}

test('defaults match kuryr-libnetwork, kuryr-lib and kuryr-kubernetes', () => {
  const c = defaultConfig({ hostname: 'node1' });
  assert.equal(c.DEFAULT.kuryr_uri, 'http://127.0.0.1:23750');
  assert.equal(c.DEFAULT.capability_scope, 'local');
  assert.equal(c.DEFAULT.local_default_address_space, 'no_address_space');
  assert.equal(c.DEFAULT.global_default_address_space, 'no_address_space');
  assert.equal(c.DEFAULT.default_port_driver, 'kuryr_libnetwork.port_driver.drivers.veth');
  assert.deepEqual(c.DEFAULT.enabled_port_drivers, ['kuryr_libnetwork.port_driver.drivers.veth']);
  assert.equal(c.DEFAULT.process_external_connectivity, true);
  assert.equal(c.DEFAULT.enable_ssl, false);
  assert.equal(c.DEFAULT.bindir, '/usr/libexec/kuryr');
  assert.equal(c.DEFAULT.subnetpool_name_prefix, 'kuryrPool');
  assert.equal(c.DEFAULT.deployment_type, 'baremetal');
  assert.equal(c.DEFAULT.debug, false);
  assert.equal(c.DEFAULT.socket_path, '/run/docker/plugins/kuryr.sock');
  assert.equal(c.DEFAULT.socket_mode, '0660');
  assert.equal(c.DEFAULT.host, 'node1');
  assert.equal(c.DEFAULT.wait_for_active, true);
  assert.equal(c.DEFAULT.active_timeout, 30);
  assert.equal(c.neutron.enable_dhcp, 'True');
  assert.equal(c.neutron.default_subnetpool_v4, 'kuryr');
  assert.equal(c.neutron.default_subnetpool_v6, 'kuryr6');
  assert.equal(c.neutron.vif_plugging_is_fatal, false);
  assert.equal(c.neutron.vif_plugging_timeout, 0);
  assert.equal(c.neutron.region_name, null);
  assert.equal(c.neutron.endpoint_type, 'public');
  assert.equal(c.neutron.insecure, false);
  assert.equal(c.neutron.auth_type, null);
  assert.equal(c.binding.veth_dst_prefix, 'eth');
  assert.equal(c.binding.default_driver, 'kuryr.lib.binding.drivers.veth');
  assert.deepEqual(c.binding.enabled_drivers, ['kuryr.lib.binding.drivers.veth']);
  assert.equal(c.binding.link_iface, '');
  assert.equal(c.kubernetes.api_root, 'https://localhost:6443');
  assert.equal(c.neutron_defaults.network_device_mtu, 0);
  assert.equal(c.cni_daemon.bind_address, '127.0.0.1:5036');
  assert.equal(c.cni_daemon.socket_path, '/run/kuryr/cni.sock');
  assert.equal(c.cni_daemon.worker_num, 30);
  assert.equal(c.cni_daemon.vif_annotation_timeout, 60);
  assert.equal(c.get('cni_daemon', 'cni_failures_count'), 3);
  assert.deepEqual(c.sources.DEFAULT['bindir'], { kind: 'default' });
});

test('types: options keep their kuryr.conf names and precise types', () => {
  const c = defaultConfig();
  const scope: 'local' | 'global' = c.DEFAULT.capability_scope;
  const timeout: number = c.neutron.vif_plugging_timeout;
  const region: string | null = c.neutron.region_name;
  const drivers: string[] = c.binding.enabled_drivers;
  const dhcp: string = c.get('neutron', 'enable_dhcp');
  assert.ok(scope && timeout === 0 && region === null && drivers.length === 1 && dhcp === 'True');
});

test('env-derived defaults: OS_KURYR_URI, CAPABILITY_SCOPE, K8S_API', () => {
  const c = load({ configFiles: [], env: { OS_KURYR_URI: 'http://0.0.0.0:2377', CAPABILITY_SCOPE: 'global', K8S_API: 'https://k8s:6443' } });
  assert.equal(c.DEFAULT.kuryr_uri, 'http://0.0.0.0:2377');
  assert.equal(c.DEFAULT.capability_scope, 'global');
  assert.equal(c.kubernetes.api_root, 'https://k8s:6443');
});

test('golden: the devstack kuryr.conf loads and prints as recorded', () => {
  const c = load({ configFiles: [fixture('kuryr-devstack.conf')] });
  assert.equal(c.DEFAULT.bindir, '/usr/local/libexec/kuryr');
  assert.equal(c.DEFAULT.capability_scope, 'global');
  assert.equal(c.DEFAULT.process_external_connectivity, false);
  assert.equal(c.DEFAULT.debug, true);
  assert.equal(c.neutron.auth_type, 'password');
  assert.equal(c.neutron.password, 's3cr3t#pa;ss');
  assert.deepEqual(c.neutron.memcached_servers, ['localhost:11211']);
  assert.deepEqual(c.sources.neutron['username'], { kind: 'file', file: fixture('kuryr-devstack.conf'), line: 101 });
  const printed = formatEffectiveConfig(c).replaceAll(FIXTURES, '<fixtures>');
  const golden = readFileSync(fixture('kuryr-devstack.effective.txt'), 'utf8');
  assert.equal(printed, golden);
  assert.ok(!printed.includes('s3cr3t'));
});

test('kuryr-kubernetes groups: lists with continuation lines, dicts, ints, bools', () => {
  const c = load({ configFiles: [fixture('kuryr-k8s.conf')] });
  assert.equal(c.kubernetes.api_root, 'https://10.0.0.5:6443');
  assert.deepEqual(c.kubernetes.enabled_handlers, ['vif', 'kuryrport']);
  assert.equal(c.kubernetes.port_debug, true);
  assert.deepEqual(c.neutron_defaults.pod_security_groups, ['1b6e3f0a-aaaa-bbbb-cccc-ddddeeeeffff', '2c7f4a1b-aaaa-bbbb-cccc-ddddeeeeffff']);
  assert.equal(c.neutron_defaults.ovs_bridge, 'br-int');
  assert.equal(c.neutron_defaults.network_device_mtu, 1450);
  assert.deepEqual(c.neutron_defaults.subnet_mapping, { vlan: 'subnet-a', vxlan: 'subnet-b' });
  assert.equal(c.cni_daemon.vif_annotation_timeout, 120);
});

test('precedence: later files win, config-dir files come last and sorted, deprecated names are read', (t) => {
  const dir = tempFiles(t, {
    'conf.d/20-b.conf': '[DEFAULT]\ndeployment_type = from-20\n',
    'conf.d/10-a.conf': '[DEFAULT]\ndeployment_type = from-10\nsubnetpool_name_prefix = p10\n',
    'conf.d/ignored.txt': '[DEFAULT]\nnot an ini file\n',
  });
  const c = load({ configFiles: [fixture('kuryr-devstack.conf'), fixture('kuryr-override.conf')], configDir: join(dir, 'conf.d') });
  assert.equal(c.DEFAULT.capability_scope, 'local');
  assert.equal(c.DEFAULT.bindir, '/usr/local/libexec/kuryr');
  assert.equal(c.binding.default_driver, 'kuryr.lib.binding.drivers.vlan');
  assert.deepEqual(c.sources.binding['default_driver'], { kind: 'file', file: fixture('kuryr-override.conf'), line: 5 });
  assert.equal(c.DEFAULT.deployment_type, 'from-20');
  assert.equal(c.DEFAULT.subnetpool_name_prefix, 'p10');
  assert.deepEqual(c.files, [fixture('kuryr-devstack.conf'), fixture('kuryr-override.conf'), join(dir, 'conf.d/10-a.conf'), join(dir, 'conf.d/20-b.conf')]);
});

test('a normal option takes the last value; a multi option gathers every value of every file', (t) => {
  const dir = tempFiles(t, {
    'a.conf': '[DEFAULT]\nbindir = /a\nbindir = /b\n[neutron]\nmemcached_servers = x\n',
    'b.conf': '[DEFAULT]\nbindir = /c\n',
  });
  const c = load({ configFiles: [join(dir, 'a.conf')] });
  assert.equal(c.DEFAULT.bindir, '/b');
  assert.equal(load({ configFiles: [join(dir, 'a.conf'), join(dir, 'b.conf')] }).DEFAULT.bindir, '/c');
});

test('groups: DEFAULT is case-sensitive, other groups are not, unknown groups are ignored', (t) => {
  const dir = tempFiles(t, { 'a.conf': '[NEUTRON]\nregion_name = R1\n[default]\nbindir = /ignored\n[oslo_concurrency]\nlock_path = /x\n' });
  const c = load({ configFiles: [join(dir, 'a.conf')] });
  assert.equal(c.neutron.region_name, 'R1');
  assert.equal(c.DEFAULT.bindir, '/usr/libexec/kuryr');
});

test('OS_<GROUP>__<OPTION> overrides the files', (t) => {
  const c = load({
    configFiles: [fixture('kuryr-devstack.conf')],
    env: { OS_DEFAULT__CAPABILITY_SCOPE: 'local', OS_NEUTRON__PASSWORD: 'from-env', OS_NEUTRON_DEFAULTS__NETWORK_DEVICE_MTU: '1400' },
  });
  assert.equal(c.DEFAULT.capability_scope, 'local');
  assert.deepEqual(c.sources.DEFAULT['capability_scope'], { kind: 'env', name: 'OS_DEFAULT__CAPABILITY_SCOPE' });
  assert.equal(c.neutron.password, 'from-env');
  assert.equal(c.neutron_defaults.network_device_mtu, 1400);
  const err = configError(() => load({ configFiles: [], env: { OS_NEUTRON__VIF_PLUGGING_TIMEOUT: 'soon' } }));
  assert.match(err.message, /OS_NEUTRON__VIF_PLUGGING_TIMEOUT/);
  assert.match(err.message, /\[neutron\] vif_plugging_timeout/);
  assert.match(err.message, /"soon"/);
  void t;
});

test('OS_* client variables fill [neutron] only where the files are silent', (t) => {
  const dir = tempFiles(t, { 'a.conf': '[neutron]\nusername = from-file\n' });
  const env = {
    OS_AUTH_URL: 'http://127.0.0.1:5000/v3', OS_USERNAME: 'kuryr', OS_PASSWORD: 'kuryr-pw', OS_PROJECT_NAME: 'service',
    OS_USER_DOMAIN_NAME: 'Default', OS_PROJECT_DOMAIN_NAME: 'Default', OS_REGION_NAME: 'RegionOne', OS_INTERFACE: 'internalURL',
    OS_CACERT: '/etc/ssl/ca.pem',
  };
  const c = load({ configFiles: [join(dir, 'a.conf')], env });
  assert.equal(c.neutron.username, 'from-file');
  assert.equal(c.neutron.password, 'kuryr-pw');
  assert.equal(c.neutron.auth_url, 'http://127.0.0.1:5000/v3');
  assert.equal(c.neutron.project_name, 'service');
  assert.equal(c.neutron.region_name, 'RegionOne');
  assert.equal(c.neutron.endpoint_type, 'internal');
  assert.equal(c.neutron.cafile, '/etc/ssl/ca.pem');
  assert.equal(c.neutron.auth_type, 'password');
  assert.deepEqual(c.sources.neutron['password'], { kind: 'env', name: 'OS_PASSWORD' });
  assert.equal(load({ configFiles: [], env: { ...env, OS_AUTH_TYPE: 'v3password' } }).neutron.auth_type, 'v3password');
});

test('OS_CLOUD selects a cloud from clouds.yaml (flow and block styles)', () => {
  const clouds = fixture('clouds.yaml');
  const c = load({ configFiles: [], env: { OS_CLOUD: 'aio-kuryr', OS_CLIENT_CONFIG_FILE: clouds }, cloudsYamlPaths: undefined });
  assert.equal(c.neutron.auth_url, 'http://127.0.0.1:5000/v3');
  assert.equal(c.neutron.username, 'kuryr');
  assert.equal(c.neutron.password, 'kuryr');
  assert.equal(c.neutron.project_name, 'service');
  assert.equal(c.neutron.user_domain_name, 'Default');
  assert.equal(c.neutron.region_name, 'RegionOne');
  assert.equal(c.neutron.auth_type, 'password');
  assert.deepEqual(c.sources.neutron['username'], { kind: 'clouds', file: clouds, cloud: 'aio-kuryr' });
  const b = load({ configFiles: [], env: { OS_CLOUD: 'block-cloud', OS_REGION_NAME: 'EnvRegion' }, cloudsYamlPaths: ['/nonexistent/clouds.yaml', clouds] });
  assert.equal(b.neutron.application_credential_secret, "it's secret");
  assert.equal(b.neutron.auth_type, 'v3applicationcredential');
  assert.equal(b.neutron.endpoint_type, 'internal');
  assert.equal(b.neutron.insecure, true);
  assert.equal(b.neutron.region_name, 'EnvRegion'); // OS_* variables beat clouds.yaml, as in openstackclient
  assert.match(configError(() => load({ configFiles: [], env: { OS_CLOUD: 'nope' }, cloudsYamlPaths: [clouds] })).message, /cloud "nope" .*clouds\.yaml.*aio-admin/);
  assert.match(configError(() => load({ configFiles: [], env: { OS_CLOUD: 'x' }, cloudsYamlPaths: ['/nonexistent/c.yaml'] })).message, /no clouds\.yaml was found/);
});

test('errors: unknown option in a known group names file, line, group and option', (t) => {
  const dir = tempFiles(t, { 'k.conf': '[DEFAULT]\ndebug = true\n\n[neutron]\nregion_name = R\npasword = oops\n' });
  const err = configError(() => load({ configFiles: [join(dir, 'k.conf')] }));
  assert.match(err.message, /unknown option "pasword"/);
  assert.match(err.message, /\[neutron\]/);
  assert.ok(err.message.includes(`${join(dir, 'k.conf')}:6`), err.message);
});

test('errors: a bad value names file, line, group, option and value', (t) => {
  const cases: Array<[string, string, RegExp]> = [
    ['[DEFAULT]\ncapability_scope = galactic\n', 'capability_scope', /"galactic".*\[DEFAULT\] capability_scope.*valid values are \[local, global\]/],
    ['[neutron]\nvif_plugging_timeout = abc\n', 'vif_plugging_timeout', /"abc".*\[neutron\] vif_plugging_timeout.*invalid literal for int/],
    ['[DEFAULT]\nenable_ssl = maybe\n', 'enable_ssl', /"maybe".*\[DEFAULT\] enable_ssl.*unexpected boolean value/],
    ['[neutron]\nendpoint_type = publicURL\n', 'endpoint_type', /"publicURL"/],
    ['[cni_health_server]\nport = 99999\n', 'port', /"99999".*\[cni_health_server\] port/],
  ];
  for (const [text, option, re] of cases) {
    const dir = tempFiles(t, { 'bad.conf': text });
    const err = configError(() => load({ configFiles: [join(dir, 'bad.conf')] }));
    assert.match(err.message, re);
    assert.ok(err.message.includes(`${join(dir, 'bad.conf')}:2`), err.message);
    assert.ok(err.message.includes(option));
  }
});

test('errors: syntax errors, missing files and missing config dirs', (t) => {
  const dir = tempFiles(t, { 'syntax.conf': '[DEFAULT]\ndebug\n' });
  assert.match(configError(() => load({ configFiles: [join(dir, 'syntax.conf')] })).message, /syntax\.conf:2: No ':' or '=' found/);
  assert.match(configError(() => load({ configFiles: [join(dir, 'missing.conf')] })).message, /config file not found: .*missing\.conf/);
  assert.match(configError(() => load({ configFiles: [], configDir: join(dir, 'nodir') })).message, /config directory not found/);
});

test('interpolation: $opt, ${group.opt}, $$ and \\$ as oslo does', (t) => {
  const dir = tempFiles(t, {
    'i.conf': [
      '[DEFAULT]',
      'bindir = /opt/kuryr',
      'pybasedir = $bindir/python',
      'ssl_cert_file = ${bindir}/cert.pem',
      'ssl_key_file = $$bindir and \\$HOME and a lone $ and $5',
      'log_dir = ${neutron.region_name}-$debug',
      '[neutron]',
      'region_name = R1',
      'default_subnetpool_v4 = pool-$region_name-$subnetpool_name_prefix',
    ].join('\n'),
  });
  const c = load({ configFiles: [join(dir, 'i.conf')] });
  assert.equal(c.DEFAULT.pybasedir, '/opt/kuryr/python');
  assert.equal(c.DEFAULT.ssl_cert_file, '/opt/kuryr/cert.pem');
  assert.equal(c.DEFAULT.ssl_key_file, '$bindir and $HOME and a lone $ and $5');
  assert.equal(c.DEFAULT.log_dir, 'R1-False');
  assert.equal(c.neutron.default_subnetpool_v4, 'pool-R1-kuryrPool');
});

test('interpolation: unknown references and cycles are errors; a secret is never echoed', (t) => {
  const dir = tempFiles(t, {
    'u.conf': '[neutron]\npassword = pa$word\n',
    'c.conf': '[DEFAULT]\nbindir = $pybasedir\npybasedir = $bindir\n',
  });
  const err = configError(() => load({ configFiles: [join(dir, 'u.conf')] }));
  assert.match(err.message, /cannot substitute "\$word" in option \[neutron\] password/);
  assert.match(err.message, /\$\$/);
  assert.ok(!err.message.includes('pa$word'));
  assert.match(configError(() => load({ configFiles: [join(dir, 'c.conf')] })).message, /circular/);
});

test('show: secrets never appear, whatever their source (property)', (t) => {
  const clouds = tempFiles(t, {});
  const pwArb = fc.string({ unit: fc.constantFrom(...'abcXYZ0189!#;:=%&*()[]{}<>?/|@^~-_+.,'.split('')), minLength: 6, maxLength: 24 }).map((s) => `PW-${s}`);
  fc.assert(fc.property(pwArb, pwArb, pwArb, pwArb, (filePw, envPw, appSecret, cloudPw) => {
    writeFileSync(join(clouds, 'clouds.yaml'), `clouds:\n  c:\n    auth: {auth_url: 'http://k:5000/v3', password: '${cloudPw.replaceAll("'", "''")}'}\n`);
    writeFileSync(join(clouds, 'kuryr.conf'), `[neutron]\npassword = "${filePw}"\napplication_credential_secret = ${appSecret}\ntoken = "${envPw}x"\n[kubernetes]\napi_root = https://admin:${encodeURIComponent(filePw)}@k8s:6443/\n`);
    const fromFile = formatEffectiveConfig(load({ configFiles: [join(clouds, 'kuryr.conf')] }));
    const fromEnv = formatEffectiveConfig(load({ configFiles: [], env: { OS_PASSWORD: envPw, OS_NEUTRON__TOKEN: appSecret } }));
    const fromCloud = formatEffectiveConfig(load({ configFiles: [], env: { OS_CLOUD: 'c' }, cloudsYamlPaths: [join(clouds, 'clouds.yaml')] }));
    for (const secret of [filePw, envPw, appSecret, encodeURIComponent(filePw)]) {
      assert.ok(!fromFile.includes(secret), `leaked ${secret}`);
      assert.ok(!fromEnv.includes(secret), `leaked ${secret}`);
    }
    assert.ok(!fromCloud.includes(cloudPw));
    assert.match(fromFile, /^password = \*\*\*  # .*kuryr\.conf:2$/m);
    assert.match(fromFile, /^api_root = https:\/\/admin:\*\*\*@k8s:6443\/  #/m);
    assert.match(fromEnv, /^password = \*\*\*  # environment variable OS_PASSWORD$/m);
  }), { numRuns: 40 });
});

test('show: URL passwords are redacted anywhere', () => {
  assert.equal(redactUrlPasswords('rabbit://guest:gu@st@10.0.0.1:5672/,rabbit://u:p@h2/'), 'rabbit://guest:***@10.0.0.1:5672/,rabbit://u:***@h2/');
  assert.equal(redactUrlPasswords('http://user@host/ and http://host:80/'), 'http://user@host/ and http://host:80/');
});

test('parseConfigArgs reads --config-file and --config-dir', () => {
  assert.deepEqual(parseConfigArgs(['--config-file', '/etc/kuryr/kuryr.conf', '--config-file=/x.conf', '--config-dir=/etc/kuryr/conf.d']),
    { configFiles: ['/etc/kuryr/kuryr.conf', '/x.conf'], configDir: '/etc/kuryr/conf.d' });
  assert.throws(() => parseConfigArgs(['--bogus']), /unknown argument/);
});
