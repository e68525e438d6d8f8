import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError } from '../../src/common/errors.js';
import { cniDeployment, dockerDeployment } from '../../src/config/deployment.js';
import { loadConfig, type KuryrConfig } from '../../src/config/load.js';

function conf(text: string): KuryrConfig {
  const dir = mkdtempSync(join(tmpdir(), 'kuryr-deploy-'));
  try {
    writeFileSync(join(dir, 'kuryr.conf'), text);
    return loadConfig({ configFiles: [join(dir, 'kuryr.conf')], env: {}, hostname: 'vm1', cloudsYamlPaths: [] });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const NESTED_MACVLAN = `[DEFAULT]
default_port_driver = kuryr_libnetwork.port_driver.drivers.nested
enabled_port_drivers = kuryr_libnetwork.port_driver.drivers.nested
[binding]
default_driver = kuryr.lib.binding.drivers.macvlan
enabled_drivers = kuryr.lib.binding.drivers.macvlan
link_iface = ens3
`;

test('the defaults are the veth model for both daemons', () => {
  assert.deepEqual(dockerDeployment(conf('')), { kind: 'veth' });
  assert.deepEqual(cniDeployment(conf('')), { kind: 'veth' });
});

test('kuryr-libnetwork nested + kuryr-lib macvlan select nested macvlan on link_iface', () => {
  assert.deepEqual(dockerDeployment(conf(NESTED_MACVLAN)), { kind: 'nested', mode: 'macvlan', linkIface: 'ens3', revUpdateAttempts: 3 });
  // short names work as well, as in kuryr-libnetwork's driver loader
  const short = conf('[DEFAULT]\ndefault_port_driver = vlan\nenabled_port_drivers = vlan\n[binding]\ndefault_driver = kuryr.lib.binding.drivers.vlan\nenabled_drivers = kuryr.lib.binding.drivers.vlan\n');
  assert.deepEqual(dockerDeployment(short), { kind: 'vlan', linkIface: '' });
});

test('bad pairs are config errors naming the option', () => {
  const cases: Array<[string, RegExp]> = [
    ['[DEFAULT]\ndefault_port_driver = nested\n', /default_port_driver nested is not in \[DEFAULT\] enabled_port_drivers/],
    ['[DEFAULT]\ndefault_port_driver = bogus\nenabled_port_drivers = bogus\n', /default_port_driver bogus is unknown/],
    ['[DEFAULT]\ndefault_port_driver = nested\nenabled_port_drivers = nested\n', /default_driver kuryr.lib.binding.drivers.veth is not compatible with port driver nested/],
    [NESTED_MACVLAN.replace('enabled_drivers = kuryr.lib.binding.drivers.macvlan', 'enabled_drivers = kuryr.lib.binding.drivers.veth'), /not in \[binding\] enabled_drivers/],
    [NESTED_MACVLAN.replaceAll('macvlan', 'ipvlan'), /ipvlan is not supported with the Docker driver/],
  ];
  for (const [text, re] of cases) assert.throws(() => dockerDeployment(conf(text)), (e: unknown) => e instanceof ConfigError && re.test(e.message), text);
});

test('CNI: [kubernetes] pod_vif_driver names the model; [pod_vif_nested] rev_update_attempts is carried', () => {
  assert.deepEqual(cniDeployment(conf('[kubernetes]\npod_vif_driver = nested-macvlan\n[binding]\nlink_iface = eth0\n[pod_vif_nested]\nrev_update_attempts = 5\n')), {
    kind: 'nested', mode: 'macvlan', linkIface: 'eth0', revUpdateAttempts: 5,
  });
  assert.equal(cniDeployment(conf('[kubernetes]\npod_vif_driver = nested-ipvlan\n')).kind, 'nested');
  assert.deepEqual(cniDeployment(conf('[kubernetes]\npod_vif_driver = nested-vlan\n')), { kind: 'vlan', linkIface: '' });
  assert.throws(() => cniDeployment(conf('[kubernetes]\npod_vif_driver = nested-dpdk\n')), /pod_vif_driver nested-dpdk is not supported/);
});
