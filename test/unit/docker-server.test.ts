/** startDockerPlugin: unix-socket mode (directory creation, file mode) and TCP mode with a spec file. */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Agent, request } from 'undici';
import { silentLogger } from '../../src/common/log.js';
import { startDockerPlugin } from '../../src/northbound/docker/server.js';
import { FakeDockerEngine, FakeLibnetwork } from '../fakes/fake-libnetwork.js';

const hasOpenssl = (() => {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe('startDockerPlugin', () => {
  it('listens on a unix socket in a created directory with mode 0660', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kuryr-srv-'));
    const sock = join(dir, 'run', 'docker', 'plugins', 'kuryr.sock');
    const plugin = await startDockerPlugin({ service: new FakeLibnetwork(), logger: silentLogger(), socketPath: sock });
    assert.equal(plugin.address, `unix://${sock}`);
    assert.equal((await stat(sock)).mode & 0o777, 0o660);
    const engine = new FakeDockerEngine(sock);
    const r = await engine.call('/Plugin.Activate');
    assert.deepEqual([r.status, r.json], [200, { Implements: ['NetworkDriver', 'IpamDriver'] }]);
    engine.close();
    await plugin.close();
    assert.equal(existsSync(sock), false, 'socket file removed on close');
    // A second start on the same path works (no EADDRINUSE from a leftover file).
    const again = await startDockerPlugin({ service: new FakeLibnetwork(), logger: silentLogger(), socketPath: sock, socketMode: 0o600 });
    assert.equal((await stat(sock)).mode & 0o777, 0o600);
    await again.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('listens on loopback TCP and writes the spec file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kuryr-srv-'));
    const specFile = join(dir, 'plugins', 'kuryr', 'kuryr.spec');
    const plugin = await startDockerPlugin({
      service: new FakeLibnetwork(),
      logger: silentLogger(),
      tcp: { host: '127.0.0.1', port: 0 },
      specFile,
    });
    const url = (await readFile(specFile, 'utf8')).trim();
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(plugin.address, url);
    const res = await request(`${url}/IpamDriver.GetDefaultAddressSpaces`, { method: 'POST' });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(await res.body.json(), { LocalDefaultAddressSpace: 'no_address_space', GlobalDefaultAddressSpace: 'no_address_space' });
    await plugin.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('serves HTTPS with a certificate and writes an https spec', { skip: hasOpenssl ? false : 'openssl not installed' }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kuryr-srv-'));
    const key = join(dir, 'key.pem');
    const cert = join(dir, 'cert.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1'], { stdio: 'ignore' });
    const specFile = join(dir, 'kuryr.spec');
    const plugin = await startDockerPlugin({
      service: new FakeLibnetwork(),
      logger: silentLogger(),
      tcp: { host: '127.0.0.1', port: 0, tls: { cert: await readFile(cert), key: await readFile(key) } },
      specFile,
    });
    const url = (await readFile(specFile, 'utf8')).trim();
    assert.match(url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const dispatcher = new Agent({ connect: { rejectUnauthorized: false } });
    const res = await request(`${url}/Plugin.Activate`, { method: 'POST', dispatcher });
    assert.equal(res.statusCode, 200);
    await res.body.json();
    await dispatcher.close();
    await plugin.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('fails cleanly when the port is taken', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kuryr-srv-'));
    const first = await startDockerPlugin({
      service: new FakeLibnetwork(),
      logger: silentLogger(),
      tcp: { host: '127.0.0.1', port: 0 },
      specFile: join(dir, 'a.spec'),
    });
    const port = Number(first.address.split(':').at(-1));
    await assert.rejects(
      startDockerPlugin({ service: new FakeLibnetwork(), logger: silentLogger(), tcp: { host: '127.0.0.1', port }, specFile: join(dir, 'b.spec') }),
      /EADDRINUSE/,
    );
    assert.equal(existsSync(join(dir, 'b.spec')), false);
    await first.close();
    await rm(dir, { recursive: true, force: true });
  });
});
