import { createOpenStackClients, type OpenStackClients } from '../../../src/southbound/openstack/index.js';
import type { NeutronClient } from '../../../src/southbound/openstack/neutron.js';
import type { Port } from '../../../src/core/shared/neutron-types.js';
import { waitFor } from './sh.js';

/** Clients of a user of scripts/aio.sh (password = user name, except admin/admin which is the same). */
function userClients(username: string, projectName: string): OpenStackClients {
  return createOpenStackClients({
    authUrl: 'http://127.0.0.1:5000/v3',
    username,
    password: username,
    userDomainName: 'Default',
    projectName,
    projectDomainName: 'Default',
    regionName: 'RegionOne',
  });
}

/** Admin access to the real Neutron of scripts/aio.sh, for arranging and checking state. */
export const adminClients = (): OpenStackClients => userClients('admin', 'admin');

/** The `kuryr` service user of scripts/aio.sh (project `service`): Kuryr's own project, used as "the user" here. */
export const kuryrProjectClients = (): OpenStackClients => userClients('kuryr', 'service');

/** The `demo` tenant (role member only): a cloud user's view, as Kuryr inside that user's VM has it. */
export const demoClients = (): OpenStackClients => userClients('demo', 'demo');

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
