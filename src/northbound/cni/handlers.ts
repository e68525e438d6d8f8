/**
 * The daemon's CNI dispatcher: decode → one core use case → encode. Handlers return the plugin's
 * stdout object (`{}` for none) or throw; `errors.ts` maps throws once.
 */
import type { PodNetworkService } from '../../core/pod/pod-network.js';
import { CNI_CODES, versionReply } from './protocol.js';
import { CniError, decodeCall, encodeResult, validAttachments, type DecodedCall } from './wire.js';

/** Checks a netns path before the data plane uses it (code 8 names the path). */
export type NetnsExists = (path: string) => boolean;

export function createCniHandler(service: PodNetworkService, netnsExists: NetnsExists): (body: unknown) => Promise<unknown> {
  const requireNetns = (call: DecodedCall): void => {
    if (!netnsExists(call.netns)) throw new CniError(CNI_CODES.invalidNetns, `CNI_NETNS ${call.netns} does not exist or is not a network namespace`);
  };
  return async (body) => {
    const call = decodeCall(body);
    switch (call.command) {
      case 'VERSION':
        return versionReply(call.cniVersion);
      case 'ADD': {
        requireNetns(call);
        return encodeResult(await service.add(call), call.cniVersion);
      }
      case 'DEL':
        if (!call.untaggable) await service.del(call);
        return {};
      case 'CHECK':
        requireNetns(call);
        await service.check(call);
        return {};
      case 'STATUS': {
        const s = await service.status();
        if (s.ok) return {};
        const code = s.service === 'dataplane' ? CNI_CODES.limitedConnectivity : CNI_CODES.notAvailable;
        throw new CniError(code, `${s.service} is not available: ${s.message}`);
      }
      case 'GC': {
        if (call.untaggable) return {};
        const report = await service.gc(call.network, validAttachments(call.config));
        if (report.errors.length > 0) throw new CniError(CNI_CODES.tryAgainLater, `GC removed ${report.removed.length} ports but failed on: ${report.errors.join('; ')}`);
        return {};
      }
    }
  };
}
