/**
 * Program/RevokeExternalConnectivity: `--expose` → a `<port id>-exposed_ports` security group.
 * Unlike the Python driver: the port is found by EID tags (Python looked it up by name only), protocols are checked before anything is created,
 * IPv6 rules are added for ports with IPv6 addresses, a failure leaves nothing behind.
 */
import { InvalidInputError } from '../../common/errors.js';
import { UndoStack } from '../../common/undo.js';
import { parseIp } from '../../common/cidr.js';
import type { EndpointRef, ExposedPort, ExternalConnectivityRequest, ExternalConnectivityUseCases } from './libnetwork.js';
import { findPortByEid } from './lookups.js';
import { SG_DESCRIPTION, exposedPortsSgName } from './naming.js';
import type { SecurityGroupRuleCreate } from '../shared/neutron-api.js';
import type { SecurityGroupRule } from '../shared/neutron-types.js';
import type { CoreContext } from './service-context.js';
import { deleteIgnoringMissing } from '../shared/neutron-deletes.js';

/** Docker's protocol numbers → Neutron protocol names. */
export const PROTOCOLS: Readonly<Record<number, string>> = { 1: 'icmp', 6: 'tcp', 17: 'udp' };

export interface PortRun {
  protocol: string;
  min: number;
  max: number;
}

/** Groups exposed ports into runs of consecutive numbers per protocol; unknown protocol → `InvalidInputError`. */
export function exposedPortRuns(ports: ExposedPort[]): PortRun[] {
  const byProto = new Map<string, Set<number>>();
  for (const p of ports) {
    const protocol = PROTOCOLS[p.proto];
    if (protocol === undefined) {
      throw new InvalidInputError(`unsupported protocol number ${p.proto} for exposed port ${p.port} (supported: 1 icmp, 6 tcp, 17 udp)`, 'ExposedPorts');
    }
    const set = byProto.get(protocol) ?? new Set<number>();
    set.add(p.port);
    byProto.set(protocol, set);
  }
  const runs: PortRun[] = [];
  for (const [protocol, set] of byProto) {
    const sorted = [...set].sort((a, b) => a - b);
    let start = sorted[0] as number;
    let prev = start;
    for (const n of sorted.slice(1)) {
      if (n !== prev + 1) {
        runs.push({ protocol, min: start, max: prev });
        start = n;
      }
      prev = n;
    }
    runs.push({ protocol, min: start, max: prev });
  }
  return runs;
}

function sameRule(r: SecurityGroupRule, w: SecurityGroupRuleCreate): boolean {
  return r.direction === w.direction && r.ethertype === w.ethertype && r.protocol === w.protocol && r.portRangeMin === w.portRangeMin && r.portRangeMax === w.portRangeMax;
}

export class ExternalConnectivity implements ExternalConnectivityUseCases {
  constructor(private readonly ctx: CoreContext) {}

  /** An empty exposed-port list (the common `docker run`) makes no Neutron call. */
  async programExternalConnectivity(req: ExternalConnectivityRequest): Promise<void> {
    const ctx = this.ctx;
    if (!ctx.options.processExternalConnectivity || req.exposedPorts.length === 0) return;
    const runs = exposedPortRuns(req.exposedPorts);
    await ctx.locks.run(`ep:${req.endpointId}`, async () => {
      // A pool port is found by its EID tags once its claim is in Neutron.
      ctx.pools?.markExposed(req.endpointId);
      await ctx.pools?.settled(req.endpointId);
      const port = await findPortByEid(ctx, req.endpointId);
      if (port === null) {
        ctx.log.warn({ endpointId: req.endpointId }, 'no Neutron port for endpoint; exposed ports not programmed');
        return;
      }
      const name = exposedPortsSgName(port.id);
      const ethertypes: Array<'IPv4' | 'IPv6'> = ['IPv4'];
      if (port.fixedIps.some((f) => parseIp(f.ipAddress).family === 6)) ethertypes.push('IPv6');
      await UndoStack.guard(
        async (undo) => {
          let sg = (await ctx.neutron.listSecurityGroups({ name }))[0];
          const reused = sg !== undefined;
          if (sg === undefined) {
            sg = await ctx.neutron.createSecurityGroup({ name, description: SG_DESCRIPTION });
            const id = sg.id;
            undo.push(`delete security group ${id}`, () => deleteIgnoringMissing(() => ctx.neutron.deleteSecurityGroup(id)));
          }
          for (const run of runs) {
            for (const ethertype of ethertypes) {
              const rule: SecurityGroupRuleCreate = {
                securityGroupId: sg.id,
                direction: 'ingress',
                ethertype,
                protocol: run.protocol,
                portRangeMin: run.min,
                portRangeMax: run.max,
              };
              if (sg.rules.some((r) => sameRule(r, rule))) continue;
              const made = await ctx.neutron.createSecurityGroupRule(rule);
              if (reused) undo.push(`delete rule ${made.id}`, () => deleteIgnoringMissing(() => ctx.neutron.deleteSecurityGroupRule(made.id)));
            }
          }
          if (!port.securityGroups.includes(sg.id)) {
            await ctx.neutron.updatePort(port.id, { securityGroups: [sg.id, ...port.securityGroups] });
            undo.push(`restore security groups of port ${port.id}`, () => ctx.neutron.updatePort(port.id, { securityGroups: port.securityGroups }));
          }
          ctx.log.info({ endpointId: req.endpointId, portId: port.id, securityGroupId: sg.id }, 'exposed ports programmed');
        },
        (failed) => ctx.log.error({ endpointId: req.endpointId, failed }, 'rollback of exposed ports was incomplete'),
      );
    });
  }

  /**
   * Neutron calls when nothing was exposed and the endpoint's port ID is known (CreateEndpoint or a
   * look-up on this process): one `GET /security-groups?name=`. The port is read only when an SG exists.
   */
  async revokeExternalConnectivity(ref: EndpointRef): Promise<void> {
    const ctx = this.ctx;
    if (!ctx.options.processExternalConnectivity) return;
    // A pool port of this process that never exposed anything: no look-up needed.
    if (ctx.pools?.exposesNothing(ref.endpointId) === true) return;
    await ctx.locks.run(`ep:${ref.endpointId}`, async () => {
      await ctx.pools?.settled(ref.endpointId);
      const knownPortId = ctx.cache.endpointPorts.get(ref.endpointId);
      let sgs = knownPortId !== undefined ? await ctx.neutron.listSecurityGroups({ name: exposedPortsSgName(knownPortId) }) : undefined;
      if (sgs !== undefined && sgs.length === 0) return;
      const port = await findPortByEid(ctx, ref.endpointId);
      if (port === null) return;
      if (port.id !== knownPortId) sgs = await ctx.neutron.listSecurityGroups({ name: exposedPortsSgName(port.id) });
      if (sgs === undefined || sgs.length === 0) return;
      const ids = new Set(sgs.map((s) => s.id));
      const remaining = port.securityGroups.filter((id) => !ids.has(id));
      if (remaining.length !== port.securityGroups.length) await ctx.neutron.updatePort(port.id, { securityGroups: remaining });
      for (const sg of sgs) await deleteIgnoringMissing(() => ctx.neutron.deleteSecurityGroup(sg.id));
      ctx.log.info({ endpointId: ref.endpointId, portId: port.id }, 'exposed ports revoked');
    });
  }
}
