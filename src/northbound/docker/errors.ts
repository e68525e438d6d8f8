/**
 * The one place where errors become Docker answers: `{"Err": message}` plus an HTTP status.
 * Docker's plugin client reads `Err` from any non-200 body; the status only matters for 404 on
 * Program/RevokeExternalConnectivity, which Docker reads as "driver does not implement this".
 */
import { ConflictError, InvalidInputError, KuryrError, NeutronError, NotFoundError } from '../../common/errors.js';
import type { ErrorReply } from '../http/method-server.js';
import type { ErrorResponse } from './api.js';

/** Verbs where a 404 would be misread by Docker as "not implemented" (`plugins.IsNotFound`). */
const NOT_FOUND_MEANS_UNIMPLEMENTED = new Set([
  'NetworkDriver.ProgramExternalConnectivity',
  'NetworkDriver.RevokeExternalConnectivity',
]);

/** A Docker error reply. */
export interface DockerErrorReply extends ErrorReply {
  body: ErrorResponse;
}

/**
 * InvalidInputError → 400; ConflictError → 409; NotFoundError → 404; NeutronError → Neutron's own status
 * (as the Python driver does; 500 if out of range); 500 instead of 404 on Program/Revoke; other KuryrError → 500;
 * anything else → 500 `internal error: <message>`. Never a stack trace.
 */
export function mapDockerError(err: unknown, method = ''): DockerErrorReply {
  let status = 500;
  if (err instanceof InvalidInputError) status = 400;
  else if (err instanceof ConflictError) status = 409;
  else if (err instanceof NotFoundError) status = 404; // the request named something that does not exist
  else if (err instanceof NeutronError && err.status >= 400 && err.status <= 599) status = err.status;
  if (status === 404 && NOT_FOUND_MEANS_UNIMPLEMENTED.has(method)) status = 500;
  // a refusal names the bad field even when the check that refused it sat deeper than the request decoder
  const named = err instanceof InvalidInputError && err.field && !err.message.includes(err.field) ? `${err.field}: ${err.message}` : undefined;
  const message = named ?? (err instanceof KuryrError ? err.message : `internal error: ${describe(err)}`);
  return { status, body: { Err: message || (err instanceof Error ? err.name : 'unknown error') } };
}

function describe(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  if (typeof err === 'string') return err;
  try {
    const json = JSON.stringify(err);
    if (json !== undefined) return json;
  } catch {
    // fall through: cyclic or otherwise unserialisable
  }
  return String(typeof err);
}
