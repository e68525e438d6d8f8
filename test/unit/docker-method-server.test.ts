import assert from 'node:assert/strict';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { spawnSync } from 'node:child_process';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { silentLogger, type Logger } from '../../src/common/log.js';
import { createMethodServer, type MethodHandler, type MethodServer } from '../../src/northbound/http/method-server.js';
import { FakeDockerEngine } from '../fakes/fake-libnetwork.js';

const CONTENT_TYPE = 'application/vnd.docker.plugins.v1+json';

function logSink(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: pino({ level: 'debug' }, stream) as unknown as Logger, lines };
}

describe('method server', () => {
  let dir: string;
  let server: MethodServer;
  let sock: string;
  let engine: FakeDockerEngine;
  const sink = logSink();
  const routes = new Map<string, MethodHandler>([
    ['Test.Echo', async (body) => ({ Got: body })],
    ['Test.Void', async () => undefined],
    ['Test.Throw', async () => { throw new Error('boom'); }],
    ['Test.Hang', () => new Promise(() => {})],
  ]);

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kuryr-ms-'));
    sock = join(dir, 'p.sock');
    server = createMethodServer({
      routes,
      mapError: (err, method) => ({ status: 500, body: { Err: `${method}: ${(err as Error).message}` } }),
      logger: sink.logger,
      maxBodyBytes: 1024 * 1024,
      handlerTimeoutMs: 300,
    });
    await server.listenUnix(sock, 0o660);
    engine = new FakeDockerEngine(sock);
  });
  after(async () => {
    engine.close();
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('sets the socket file mode', async () => {
    assert.equal((await stat(sock)).mode & 0o777, 0o660);
  });

  it('parses a body without Content-Type and answers the Docker media type', async () => {
    const r = await engine.call('/Test.Echo', '{"A":1}\n');
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], CONTENT_TYPE);
    assert.deepEqual(r.json, { Got: { A: 1 } });
    assert.notEqual(r.headers.connection, 'close');
  });

  it('treats an empty body as {} and an undefined result as {}', async () => {
    assert.deepEqual((await engine.call('/Test.Echo', '')).json, { Got: {} });
    assert.deepEqual((await engine.call('/Test.Void', '')).json, {});
  });

  it('answers 400 on malformed JSON', async () => {
    const r = await engine.call('/Test.Echo', '{"A":');
    assert.equal(r.status, 400);
    assert.match((r.json as { Err: string }).Err, /^malformed JSON body: /);
  });

  it('answers 404 on an unknown method and 405 on GET', async () => {
    const nf = await engine.call('/NetworkDriver.Nope', '{}');
    assert.equal(nf.status, 404);
    assert.deepEqual(nf.json, { Err: 'unknown method NetworkDriver.Nope' });
    const na = await engine.call('/Test.Echo', '', 'GET');
    assert.equal(na.status, 405);
    assert.equal(na.headers.allow, 'POST');
    assert.match((na.json as { Err: string }).Err, /GET not allowed/);
  });

  it('answers 413 on a 2 MiB body and keeps serving', async () => {
    const big = `{"A":"${'x'.repeat(2 * 1024 * 1024)}"}`;
    const r = await engine.call('/Test.Echo', big);
    assert.equal(r.status, 413);
    assert.match((r.json as { Err: string }).Err, /exceeds 1048576 bytes/);
    assert.equal((await engine.call('/Test.Void', '')).status, 200);
  });

  it('maps a handler throw through mapError', async () => {
    const r = await engine.call('/Test.Throw', '{}');
    assert.equal(r.status, 500);
    assert.deepEqual(r.json, { Err: 'Test.Throw: boom' });
  });

  it('answers 500 when a handler does not settle in time', async () => {
    const r = await engine.call('/Test.Hang', '{}');
    assert.equal(r.status, 500);
    assert.match((r.json as { Err: string }).Err, /timed out/);
  });

  it('reuses one keep-alive connection for every call above', () => {
    assert.equal(engine.connections, 1);
  });

  it('logs one line per finished call (info, error for a 5xx) with its request id and duration', async () => {
    sink.lines.length = 0;
    await engine.call('/Test.Throw', '{}');
    await engine.call('/Test.Void', '{}');
    assert.equal(sink.lines.length, 2);
    const [failed, ok] = sink.lines;
    assert.equal(failed!.level, 50);
    assert.equal(failed!.method, 'Test.Throw');
    assert.equal(failed!.status, 500);
    assert.equal(ok!.level, 30);
    assert.equal(ok!.method, 'Test.Void');
    assert.equal(typeof ok!.ms, 'number');
    assert.match(String(ok!.reqId), /^req-[0-9a-f-]{36}$/);
    assert.notEqual(ok!.reqId, failed!.reqId);
  });

  it('answers unparseable HTTP with a JSON 400 and closes that connection', async () => {
    const raw = await new Promise<string>((resolve, reject) => {
      const c = net.connect(sock, () => c.write('NOT HTTP AT ALL\r\n\r\n'));
      let out = '';
      c.on('data', (d) => (out += d.toString()));
      c.on('close', () => resolve(out));
      c.on('error', reject);
    });
    assert.match(raw, /^HTTP\/1\.1 400 /);
    assert.match(raw, /\{"Err":"bad request: HPE_/);
  });

  it('serves concurrent connections', async () => {
    const engines = Array.from({ length: 5 }, () => new FakeDockerEngine(sock));
    const replies = await Promise.all(engines.map((e, i) => e.call('/Test.Echo', JSON.stringify({ i }))));
    replies.forEach((r, i) => assert.deepEqual(r.json, { Got: { i } }));
    engines.forEach((e) => e.close());
  });
});

describe('method server listeners', () => {
  const make = () =>
    createMethodServer({
      routes: new Map([['Test.Ok', async () => ({ Ok: true })]]),
      mapError: () => ({ status: 500, body: { Err: 'x' } }),
      logger: silentLogger(),
    });

  it('replaces a stale socket file, refuses a live one and a regular file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'kuryr-ms-'));
    const sock = join(dir, 'stale.sock');
    // A crashed plugin: the process dies with SIGKILL while listening, so the socket file stays.
    spawnSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(sock)}, () => process.kill(process.pid, 'SIGKILL'))`]);
    assert.ok((await stat(sock)).isSocket());
    const a = make();
    await a.listenUnix(sock);
    const engine = new FakeDockerEngine(sock);
    assert.equal((await engine.call('/Test.Ok', '')).status, 200);
    engine.close();
    const b = make();
    await assert.rejects(b.listenUnix(sock), /in use/);
    const file = join(dir, 'plain');
    await writeFile(file, 'x');
    await assert.rejects(make().listenUnix(file), /not a unix socket/);
    await a.close();
    await b.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('listens on TCP port 0 and reports the port', async () => {
    const s = make();
    const port = await s.listenTcp('127.0.0.1', 0);
    assert.ok(port > 0);
    const res = await fetch(`http://127.0.0.1:${port}/Test.Ok`, { method: 'POST' });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { Ok: true });
    await s.close();
  });
});
