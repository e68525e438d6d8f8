/**
 * Maps a throw to the CNI error printed by the shim: spec codes where one fits (3 unknown container,
 * 4 bad environment, 7 bad config, 8 bad netns, 11 try again later), 100 for a CHECK mismatch, else 999.
 */
import {
  AuthError, BindingError, ConfigError, ConflictError, InvalidInputError, KuryrError, NeutronError, NotFoundError, TimeoutError, UnavailableError,
} from '../../common/errors.js';
import { CNI_CODES, type CniErrorBody } from './protocol.js';
import { CniError } from './wire.js';

/** The CNI code of an error. */
export function cniCode(err: unknown): number {
  if (err instanceof CniError) return err.code;
  if (err instanceof InvalidInputError) return err.field?.startsWith('CNI_') ? CNI_CODES.invalidEnv : CNI_CODES.invalidConfig;
  if (err instanceof ConfigError) return CNI_CODES.invalidConfig;
  if (err instanceof NotFoundError) return CNI_CODES.unknownContainer;
  if (err instanceof ConflictError) return CNI_CODES.attachmentDiffers;
  if (err instanceof UnavailableError || err instanceof TimeoutError || err instanceof AuthError) return CNI_CODES.tryAgainLater;
  if (err instanceof NeutronError) {
    // 409: IP exhaustion, MAC clash; 5xx: Neutron trouble. Other 4xx: what we asked for is wrong (bad SG, subnet, policy).
    return err.status === 409 || err.status >= 500 ? CNI_CODES.tryAgainLater : CNI_CODES.invalidConfig;
  }
  return CNI_CODES.internal;
}

/** The error body; `details` names Kuryr's error code (and the cause when there is one). */
export function cniError(err: unknown, cniVersion: string, command: string): CniErrorBody {
  const msg = err instanceof Error ? err.message : String(err);
  const kind = err instanceof KuryrError ? err.code : err instanceof CniError ? 'CNI' : 'KURYR_ERR_INTERNAL';
  const cause = err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : '';
  const binding = err instanceof BindingError ? ' (data plane)' : '';
  return { cniVersion, code: cniCode(err), msg: `${command} failed: ${msg}`, details: `${kind}${binding}${cause}` };
}
