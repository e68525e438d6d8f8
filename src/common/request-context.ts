/**
 * The context of one northbound call (a Docker plugin method or a CNI command): its request id and the ids it
 * touches (network, endpoint, pod, container). It follows the call through every await, so the Neutron client can
 * send the id as `X-OpenStack-Request-ID` (Neutron then logs it as the global request id) and the call's final
 * log line can name what it worked on.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';

export interface RequestContext {
  /** `req-<uuid>`: the only form oslo.middleware accepts as a global request id. */
  readonly requestId: string;
  /** Ids the call works on, by kind (`network`, `endpoint`, `pod`, `container`, ...). */
  readonly ids: Record<string, string>;
}

const storage = new AsyncLocalStorage<RequestContext>();

export function newRequestId(): string {
  return `req-${randomUUID()}`;
}

/** Runs `fn` as one call with a fresh request id. */
export function runInRequest<T>(ids: Record<string, string>, fn: (ctx: RequestContext) => T): T {
  const ctx: RequestContext = { requestId: newRequestId(), ids: { ...ids } };
  return storage.run(ctx, () => fn(ctx));
}

/** The running call's context, if any. */
export function currentRequest(): RequestContext | undefined {
  return storage.getStore();
}

/** Adds ids learnt along the way (e.g. the Neutron port a pod got) to the running call's final log line. */
export function noteIds(ids: Record<string, string | undefined>): void {
  const ctx = storage.getStore();
  if (!ctx) return;
  for (const [k, v] of Object.entries(ids)) if (v) ctx.ids[k] = v;
}
