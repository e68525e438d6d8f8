/**
 * The one error hierarchy of Kuryr. Northbound adapters map it once per protocol:
 * Docker → `{"Err": message}` with an HTTP status, CNI → `{code, msg, details}`.
 * Callers branch on `code` (or on the subclass), never on message text.
 */
export type KuryrErrorCode =
  | 'KURYR_ERR_INVALID_INPUT'
  | 'KURYR_ERR_NOT_FOUND'
  | 'KURYR_ERR_CONFLICT'
  | 'KURYR_ERR_UNAVAILABLE'
  | 'KURYR_ERR_AUTH'
  | 'KURYR_ERR_NEUTRON'
  | 'KURYR_ERR_BINDING'
  | 'KURYR_ERR_CONFIG'
  | 'KURYR_ERR_TIMEOUT'
  | 'KURYR_ERR_INTERNAL';

export class KuryrError extends Error {
  readonly code: KuryrErrorCode;
  constructor(code: KuryrErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** Bad input from a caller; `field` names the offending field when there is one. */
export class InvalidInputError extends KuryrError {
  readonly field: string | undefined;
  constructor(message: string, field?: string, options?: { cause?: unknown }) {
    super('KURYR_ERR_INVALID_INPUT', message, options);
    this.field = field;
  }
}

export class NotFoundError extends KuryrError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('KURYR_ERR_NOT_FOUND', message, options);
  }
}

export class ConflictError extends KuryrError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('KURYR_ERR_CONFLICT', message, options);
  }
}

/** A dependency (Keystone, Neutron, OVS) cannot be reached right now; retrying later may succeed. */
export class UnavailableError extends KuryrError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('KURYR_ERR_UNAVAILABLE', message, options);
  }
}

/** Keystone refused the credentials or the token. Never carries a secret in its message. */
export class AuthError extends KuryrError {
  readonly status: number | undefined;
  constructor(message: string, status?: number, options?: { cause?: unknown }) {
    super('KURYR_ERR_AUTH', message, options);
    this.status = status;
  }
}

/** An error answer from Neutron (or another OpenStack REST service). */
export class NeutronError extends KuryrError {
  readonly status: number;
  /** Neutron's fault type, e.g. `IpAddressAlreadyAllocated`, `NetworkNotFound`. */
  readonly type: string | undefined;
  readonly requestId: string | undefined;
  constructor(
    message: string,
    info: { status: number; type?: string | undefined; requestId?: string | undefined },
    options?: { cause?: unknown },
  ) {
    super('KURYR_ERR_NEUTRON', message, options);
    this.status = info.status;
    this.type = info.type;
    this.requestId = info.requestId;
  }
  get isNotFound(): boolean {
    return this.status === 404;
  }
  get isConflict(): boolean {
    return this.status === 409;
  }
  /** 412: an `If-Match: revision_number=N` update found the resource at another revision. */
  get isPreconditionFailed(): boolean {
    return this.status === 412;
  }
}

/** Plugging or unplugging a host device failed (ip, ovs-vsctl, ethtool...). */
export class BindingError extends KuryrError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('KURYR_ERR_BINDING', message, options);
  }
}

/** A configuration file, option or value is wrong. */
export class ConfigError extends KuryrError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('KURYR_ERR_CONFIG', message, options);
  }
}

export class TimeoutError extends KuryrError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('KURYR_ERR_TIMEOUT', message, options);
  }
}

/** True for "already gone" answers, which deletes treat as success. */
export function isNotFound(err: unknown): boolean {
  return err instanceof NotFoundError || (err instanceof NeutronError && err.status === 404);
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
