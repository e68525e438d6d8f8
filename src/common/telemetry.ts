/**
 * What the daemons count for operators, as an interface the inner layers can call without knowing prom-client.
 * One process runs one daemon, so there is one observer per process: compose installs the Prometheus one at
 * start-up; until then (and in unit tests) calls go nowhere.
 */
export interface Telemetry {
  /** A Neutron (or Keystone) REST call finished; `status` is the HTTP status or the transport error code. */
  openstackCall(method: string, resource: string, status: string, seconds: number): void;
  /** A wait for a port to turn ACTIVE ended: `active`, `timeout` or `error`. */
  activeWait(seconds: number, result: 'active' | 'timeout' | 'error'): void;
  /** A multi-step create was undone; `failedSteps` undo steps themselves failed (something may be left behind). */
  rollback(failedSteps: number): void;
}

const NONE: Telemetry = { openstackCall() {}, activeWait() {}, rollback() {} };
let current: Telemetry = NONE;

export function telemetry(): Telemetry {
  return current;
}

/** Installs the process's observer (compose does, once); returns a function restoring the previous one. */
export function setTelemetry(t: Telemetry): () => void {
  const previous = current;
  current = t;
  return () => {
    current = previous;
  };
}
