/**
 * A tiny Docker Engine API client over the daemon's unix socket (node:http): the three network
 * calls `kuryr network sync` needs, and the running containers' endpoints for `kuryr ports`. Unversioned paths, so any engine answers with its own version.
 */
import { request } from 'node:http';
import type { DockerNetworkView, DockerView } from '../../core/docker/garbage.js';
import type { DockerEngineApi, DockerNetworkSpec, DockerNetworkSummary } from '../../core/docker/network-sync.js';

interface NetworkInspect {
  Containers?: Record<string, { EndpointID: string; IPv4Address?: string; IPv6Address?: string }> | null;
  IPAM?: { Config?: Array<{ Gateway?: string; AuxiliaryAddresses?: Record<string, string> | null }> | null } | null;
}

export class DockerEngineError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'DockerEngineError';
  }
}

/** `unix:///var/run/docker.sock` (or a bare path) → the socket path. */
export function socketPathOf(dockerHost: string): string {
  if (dockerHost.startsWith('unix://')) return dockerHost.slice('unix://'.length);
  if (dockerHost.startsWith('/')) return dockerHost;
  throw new Error(`only unix:// Docker hosts are supported, got ${dockerHost}`);
}

export class DockerEngineClient implements DockerEngineApi, DockerView {
  constructor(
    private readonly socketPath: string,
    private readonly timeoutMs = 60_000,
  ) {}

  async listNetworks(): Promise<DockerNetworkSummary[]> {
    const nets = (await this.call('GET', '/networks')) as Array<{ Id: string; Name: string; Driver: string; Labels: Record<string, string> | null }>;
    return nets.map((n) => ({ id: n.Id, name: n.Name, driver: n.Driver, labels: n.Labels ?? {} }));
  }

  /** The network's name, or undefined when dockerd does not know the ID. */
  async networkName(id: string): Promise<string | undefined> {
    try {
      return ((await this.call('GET', `/networks/${encodeURIComponent(id)}`)) as { Name: string }).Name;
    } catch (err) {
      if (err instanceof DockerEngineError && err.status === 404) return undefined;
      throw err;
    }
  }

  /** Endpoints and handed-out addresses of a network (the garbage collector's view), or null when unknown. */
  async network(id: string): Promise<DockerNetworkView | null> {
    let n: NetworkInspect;
    try {
      n = (await this.call('GET', `/networks/${encodeURIComponent(id)}`)) as NetworkInspect;
    } catch (err) {
      if (err instanceof DockerEngineError && err.status === 404) return null;
      throw err;
    }
    const endpointIds = new Set<string>();
    const addresses = new Set<string>();
    const plain = (a: string | undefined): void => {
      if (a) addresses.add(a.split('/')[0] as string);
    };
    for (const c of Object.values(n.Containers ?? {})) {
      endpointIds.add(c.EndpointID);
      plain(c.IPv4Address);
      plain(c.IPv6Address);
    }
    for (const cfg of n.IPAM?.Config ?? []) {
      plain(cfg.Gateway);
      for (const a of Object.values(cfg.AuxiliaryAddresses ?? {})) plain(a);
    }
    return { endpointIds, addresses };
  }

  async createNetwork(spec: DockerNetworkSpec): Promise<string> {
    const body = {
      Name: spec.name,
      CheckDuplicate: true,
      Driver: spec.driver,
      EnableIPv6: spec.enableIpv6,
      IPAM: {
        Driver: spec.ipamDriver,
        Config: spec.subnets.map((s) => (s.gateway !== undefined ? { Subnet: s.subnet, Gateway: s.gateway } : { Subnet: s.subnet })),
        Options: networkCreateOptions(spec).ipamOptions,
      },
      Options: networkCreateOptions(spec).options,
      Labels: spec.labels,
    };
    const created = (await this.call('POST', '/networks/create', body)) as { Id: string };
    return created.Id;
  }

  async removeNetwork(id: string): Promise<void> {
    await this.call('DELETE', `/networks/${encodeURIComponent(id)}`);
  }

  /** Endpoint ID → name of the running container attached through it, over every network. */
  async endpointContainers(): Promise<Map<string, string>> {
    type Summary = { Names?: string[]; Id: string; NetworkSettings?: { Networks?: Record<string, { EndpointID?: string }> } };
    const out = new Map<string, string>();
    for (const c of (await this.call('GET', '/containers/json')) as Summary[]) {
      const name = c.Names?.[0]?.replace(/^\//, '') ?? c.Id.slice(0, 12);
      for (const n of Object.values(c.NetworkSettings?.Networks ?? {})) if (n.EndpointID) out.set(n.EndpointID, name);
    }
    return out;
  }

  private call(method: string, path: string, body?: unknown): Promise<unknown> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = request(
        {
          socketPath: this.socketPath,
          method,
          path,
          timeout: this.timeoutMs,
          headers: { Host: 'docker', ...(payload !== undefined ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) } : {}) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const status = res.statusCode ?? 0;
            if (status >= 200 && status < 300) return resolve(text === '' ? undefined : JSON.parse(text));
            let message = text.trim();
            try {
              message = (JSON.parse(text) as { message?: string }).message ?? message;
            } catch {
              // plain-text error body
            }
            reject(new DockerEngineError(`Docker ${method} ${path} failed (${status}): ${message}`, status));
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`Docker ${method} ${path} timed out after ${this.timeoutMs} ms`)));
      req.on('error', (err) => reject(new Error(`Docker ${method} ${path} via ${this.socketPath}: ${err.message}`)));
      req.end(payload);
    });
  }
}

/**
 * The `-o` and `--ipam-opt` maps of an adopted network, with the option names kuryr's driver reads
 * (the Python driver's `neutron.net.uuid` and `neutron.net.shared`).
 */
export function networkCreateOptions(spec: Pick<DockerNetworkSpec, 'neutronNetworkId' | 'shared'>): { options: Record<string, string>; ipamOptions: Record<string, string> } {
  const shared: Record<string, string> = spec.shared ? { 'neutron.net.shared': 'true' } : {};
  const network: Record<string, string> = spec.neutronNetworkId !== undefined ? { 'neutron.net.uuid': spec.neutronNetworkId } : {};
  return { options: { ...network, ...shared }, ipamOptions: shared };
}
