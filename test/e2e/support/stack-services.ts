/**
 * Stops and starts services of the all-in-one stack the way scripts/aio.sh does (its own functions,
 * sourced), for tests of the infrastructure failing under Kuryr. The caller restarts what it stopped
 * in a `finally`; `start` is a no-op for a service that is already up.
 */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { must } from './sh.js';

const SCRIPTS = resolve(dirname(fileURLToPath(import.meta.url)), '../../../scripts');

export type StackService = 'neutron-server' | 'keystone' | 'rabbitmq';

/** Shell of each action; RabbitMQ only stops its application (port 5672 closes, the Erlang node stays). */
const ACTIONS: Record<StackService, { stop: string; start: string }> = {
  'neutron-server': { stop: 'stop_name neutron-server', start: 'alive neutron-server || start_neutron_server' },
  keystone: { stop: 'stop_name keystone', start: 'start_keystone' },
  rabbitmq: { stop: 'rabbitmqctl -q stop_app', start: 'rabbitmqctl -q start_app && rabbitmqctl -q await_startup' },
};

function aio(script: string): Promise<string> {
  const lib = `${SCRIPTS}/lib`;
  return must(['bash', '-c', `source ${lib}/aio-common.sh && source ${lib}/aio-services.sh && ${script}`], { timeoutMs: 240_000 });
}

export async function stopService(service: StackService): Promise<void> {
  await aio(ACTIONS[service].stop);
}

export async function startService(service: StackService): Promise<void> {
  await aio(ACTIONS[service].start);
}
