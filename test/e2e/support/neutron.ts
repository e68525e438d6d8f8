import { createOpenStackClients, type OpenStackClients } from '../../../src/southbound/openstack/index.js';
import type { NeutronClient } from '../../../src/southbound/openstack/neutron.js';
import type { Port } from '../../../src/core/shared/neutron-types.js';
import { waitFor } from './sh.js';

/** Admin access to the real Neutron of scripts/aio.sh, for arranging and checking state. */
export function adminClients(): OpenStackClients {
  return createOpenStackClients({
    authUrl: 'http://127.0.0.1:5000/v3',
    username: 'admin',
    password: 'admin',
    userDomainName: 'Default',
    projectName: 'admin',
    projectDomainName: 'Default',
    regionName: 'RegionOne',
  });
}

/** The `kuryr` service user of scripts/aio.sh (project `service`): Kuryr's own project, used as "the user" here. */
export function kuryrProjectClients(): OpenStackClients {
  return createOpenStackClients({
    authUrl: 'http://127.0.0.1:5000/v3',
    username: 'kuryr',
    password: 'kuryr',
    userDomainName: 'Default',
    projectName: 'service',
    projectDomainName: 'Default',
    regionName: 'RegionOne',
  });
}

export async function stackIsUp(): Promise<boolean> {
  try {
    const r = await fetch('http://127.0.0.1:9696/', { signal: AbortSignal.timeout(5000) });
    return r.ok;
  } catch {
    return false;
  }
}

export function waitActive(neutron: NeutronClient, portId: string, timeoutMs = 60_000): Promise<Port> {
  return waitFor(`port ${portId} ACTIVE`, async () => {
    const p = await neutron.getPort(portId);
    return p.status === 'ACTIVE' ? p : undefined;
  }, timeoutMs, 200);
}

/** The Neutron port of a Docker endpoint (device_id = endpoint id), or undefined. */
export async function portOfEndpoint(neutron: NeutronClient, endpointId: string): Promise<Port | undefined> {
  const ports = await neutron.listPorts({ deviceId: endpointId });
  return ports[0];
}
