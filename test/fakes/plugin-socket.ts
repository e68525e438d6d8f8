import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { silentLogger } from '../../src/common/log.js';
import type { LibnetworkService } from '../../src/core/docker/libnetwork.js';
import { startDockerPlugin, type DockerPlugin } from '../../src/northbound/docker/server.js';
import { FakeDockerEngine } from './fake-libnetwork.js';

/**
 * Serves `service` on a temporary unix socket for the enclosing describe() and talks to it the way
 * dockerd does; the socket, the plugin and the engine connection are torn down after the suite.
 */
export function usePluginSocket(service: LibnetworkService, prefix: string): { readonly engine: FakeDockerEngine } {
  let dir: string;
  let plugin: DockerPlugin;
  let engine: FakeDockerEngine;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), prefix));
    plugin = await startDockerPlugin({ service, logger: silentLogger(), socketPath: join(dir, 'kuryr.sock') });
    engine = new FakeDockerEngine(join(dir, 'kuryr.sock'));
  });
  after(async () => {
    engine.close();
    await plugin.close();
    await rm(dir, { recursive: true, force: true });
  });
  return {
    get engine() {
      return engine;
    },
  };
}
