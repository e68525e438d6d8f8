/**
 * The Prometheus metrics of a daemon (prom-client): its own registry, the process defaults (RSS, CPU, event loop,
 * file descriptors), call durations, OpenStack call durations, ACTIVE waits and rollbacks. Other parts add their
 * own gauges with `registry` (`new Gauge({ ..., registers: [metrics.registry] })`).
 */
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';
import type { Telemetry } from './telemetry.js';

/** Seconds: a cached Docker call takes ~1 ms, an ADD with an ACTIVE wait 1-3 s, kuryr-kubernetes' buckets end at 180. */
const CALL_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 20, 30, 60, 120, 180];
const OPENSTACK_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export interface DaemonMetrics extends Telemetry {
  readonly registry: Registry;
  /** One northbound call finished: a Docker plugin method or a CNI command. */
  call(name: string, seconds: number, error: boolean): void;
  /** The text exposition of every metric. */
  render(): Promise<string>;
  readonly contentType: string;
}

/**
 * `docker`: `kuryr_docker_request_duration_seconds{method,error}`;
 * `cni`: `kuryr_cni_request_duration_seconds{command,error}`, kuryr-kubernetes' name and labels.
 */
export function createDaemonMetrics(daemon: 'docker' | 'cni'): DaemonMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const callLabel = daemon === 'cni' ? 'command' : 'method';
  const calls = new Histogram({
    name: `kuryr_${daemon}_request_duration_seconds`,
    help: daemon === 'cni' ? 'Duration of CNI commands, by command and whether it failed' : 'Duration of Docker plugin calls, by method and whether it failed',
    labelNames: [callLabel, 'error'] as const,
    buckets: CALL_BUCKETS,
    registers: [registry],
  });
  const openstack = new Histogram({
    name: 'kuryr_openstack_request_duration_seconds',
    help: 'Duration of Neutron and Keystone REST calls, by HTTP method, resource and status',
    labelNames: ['method', 'resource', 'status'] as const,
    buckets: OPENSTACK_BUCKETS,
    registers: [registry],
  });
  const activeWait = new Histogram({
    name: 'kuryr_port_active_wait_seconds',
    help: 'Time from plugging a port until Neutron reported it ACTIVE (or the wait ended otherwise)',
    labelNames: ['result'] as const,
    buckets: [0.1, 0.25, 0.5, 1, 1.5, 2, 3, 5, 10, 30, 60],
    registers: [registry],
  });
  const rollbacks = new Counter({ name: 'kuryr_rollbacks_total', help: 'Multi-step creates undone after a failure', registers: [registry] });
  const rollbackFailures = new Counter({
    name: 'kuryr_rollback_failed_steps_total',
    help: 'Undo steps that failed during a rollback (something may be left behind: see the log)',
    registers: [registry],
  });
  return {
    registry,
    contentType: registry.contentType,
    call: (name, seconds, error) => calls.observe({ [callLabel]: name, error: error ? 'true' : 'false' }, seconds),
    openstackCall: (method, resource, status, seconds) => openstack.observe({ method, resource, status }, seconds),
    activeWait: (seconds, result) => activeWait.observe({ result }, seconds),
    rollback(failedSteps) {
      rollbacks.inc();
      if (failedSteps > 0) rollbackFailures.inc(failedSteps);
    },
    render: () => registry.metrics(),
  };
}
