/**
 * Bad input for the Docker driver on the real stack: generated requests on every route of our
 * daemon's plugin socket (`Plugin.Activate`, every `NetworkDriver.*` and `IpamDriver.*` verb),
 * sent the way dockerd does and the way no client should (malformed and truncated JSON, empty
 * bodies, wrong types, missing and extra fields, huge strings, odd unicode, near-miss IDs, CIDRs,
 * MACs and IPs, wrong content types and methods, garbage HTTP). Every answer must be a 200 or a
 * 4xx whose `Err` names the bad field; none may hang. Afterwards the daemon still answers, its RSS
 * did not run away, and Neutron, the host's links, OVS and netns hold exactly what they held before.
 *
 * Requests that happen to be valid name IDs nothing else uses (fresh random Docker IDs and UUIDs);
 * one that creates something (a network, a pool, an address) is undone with its inverse call.
 *
 * Size: KURYR_FUZZ_COUNT requests per route (default 250, about 2 min in CI); the full size is
 * KURYR_FUZZ_COUNT=10000. KURYR_FUZZ_ROUTES picks routes; KURYR_FUZZ_SEED replays a run.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { DockerE2e } from './support/fixture.js';
import { Tally, fuzzCount, fuzzSeed, inParallel, rawCall, rssMib, samples, snapshotDiff, stackSnapshot, type RawReply, type RawRequest, type StackSnapshot } from './support/fuzz.js';
import { NO_BODY, ROUTES, caseArb, inverse, type Case } from './support/fuzz-docker-cases.js';
import { adminClients } from './support/neutron.js';
import { KuryrDaemon } from './support/kuryr-daemon.js';

const skip = await DockerE2e.skipReason();
const COUNT = fuzzCount(250);
/** KURYR_FUZZ_ROUTES=NetworkDriver.Join,IpamDriver.RequestPool picks routes (default: all). */
const PICKED = process.env.KURYR_FUZZ_ROUTES?.split(',') ?? ROUTES;
const SEED = fuzzSeed();
/** KURYR_FUZZ_SECONDS: stop starting new batches after this long, then check and report what was done. */
const BUDGET_S = Number(process.env.KURYR_FUZZ_SECONDS ?? Infinity);
const SOCKET = '/run/aio/kuryr-fuzz.sock';
/** Requests in flight at once (dockerd sends calls for different networks in parallel). */
const WIDTH = Number(process.env.KURYR_FUZZ_WIDTH ?? 4);
/** RSS growth allowed over the run, after a warm-up (a leak of 1 KiB per request shows at the full size). */
const RSS_GROWTH_MIB = 96;

describe('docker driver: generated bad input on every route', { skip }, () => {
  const openstack = adminClients();
  const daemon = new KuryrDaemon({ socketPath: SOCKET, runtime: 'compiled' });
  let before0: StackSnapshot;
  before(async () => {
    await daemon.start();
    // after the start: what a start-up reconciliation does is not this test's business
    before0 = await stackSnapshot(openstack.neutron);
  });
  after(async () => {
    await daemon.stop().catch(() => undefined);
    await openstack.close().catch(() => undefined);
  });

  test(`${COUNT} requests per route, seed ${SEED}`, { timeout: Math.max(30 * 60_000, COUNT * 60_000) }, async () => {
    const tally = new Tally();
    const failures: string[] = [];
    const perRoute = new Map<string, number>();
    const started = Date.now();
    const overBudget = (): boolean => Date.now() - started > BUDGET_S * 1000;
    const call = (req: RawRequest): Promise<RawReply> => rawCall(SOCKET, req, 60_000);

    const check = async (c: Case): Promise<void> => {
      let reply: RawReply;
      try {
        reply = await call(c.req);
      } catch (err) {
        failures.push(`${c.route} ${c.kind}: ${(err as Error).message}: ${String(c.req.raw ?? c.req.body).slice(0, 200)}`);
        return;
      }
      perRoute.set(c.route, (perRoute.get(c.route) ?? 0) + 1);
      const what = `${c.route} [${c.kind}${c.field ? ` ${c.field}` : ''}] ${String(c.req.raw ?? c.req.body).slice(0, 160)}`;
      if (reply.status === 0) {
        // only an upload the client cut short or bytes that are not HTTP may go unanswered
        if (c.kind === 'truncated upload' || c.kind === 'garbage HTTP') return void tally.add('closed without answer');
        return void failures.push(`${what}: connection closed without an answer`);
      }
      let json: Record<string, unknown> | undefined;
      try {
        json = JSON.parse(reply.text) as Record<string, unknown>;
      } catch {
        if (c.req.method === 'HEAD' && reply.text === '') return; // a HEAD answer carries no body
        return void failures.push(`${what}: ${reply.status} with a non-JSON body ${reply.text.slice(0, 200)}`);
      }
      tally.add(`${reply.status}`);
      if (reply.status >= 500) return void failures.push(`${what}: ${reply.status} ${reply.text.slice(0, 300)}`);
      if (reply.status !== 200) {
        const err = json?.['Err'];
        if (typeof err !== 'string' || err === '' || err.includes('[object Object]')) return void failures.push(`${what}: ${reply.status} without a usable Err: ${reply.text.slice(0, 200)}`);
        // a field made bad must be named (Neutron-level refusals name the resource instead)
        const lower = err.toLowerCase();
        if (c.field && reply.status === 400 && !lower.includes(c.field.toLowerCase()) && !lower.includes((c.leaf ?? c.field).toLowerCase()) && !/malformed JSON|body must be a JSON object|empty .* request/.test(err)) {
          tally.add('400 not naming the field', `${err} ← ${what}`);
          failures.push(`${what}: 400 does not name ${c.field}: ${err.slice(0, 300)}`);
        }
        return;
      }
      if (c.body && json) {
        const inv = inverse(c.route, c.body, json);
        if (inv) {
          tally.add(`valid create undone (${c.route})`);
          const r = await call({ path: `/${inv.route}`, body: JSON.stringify(inv.body) });
          if (r.status !== 200) failures.push(`${what}: its inverse ${inv.route} answered ${r.status} ${r.text.slice(0, 200)}`);
        }
      }
    };

    // a warm-up of valid calls before the RSS baseline
    await inParallel(Array.from({ length: 200 }, (_, i) => i), WIDTH, async (i) => {
      const r = await call({ path: `/${NO_BODY[i % NO_BODY.length]!}`, body: '' });
      assert.equal(r.status, 200);
    });
    const pid = daemon.pid!;
    const rssStart = rssMib(pid);
    let rssPeak = rssStart;

    const seconds = new Map<string, number>();
    for (const [ri, route] of ROUTES.entries()) {
      if (!PICKED.includes(route)) continue;
      const routeStarted = Date.now();
      // generated in batches of 500 to keep the test's own memory flat at the full size
      for (let done = 0; done < COUNT && !overBudget(); done += 500) {
        const cases = samples(caseArb(route), Math.min(500, COUNT - done), SEED + ri * 1_000_003 + done);
        await inParallel(cases, WIDTH, check);
        rssPeak = Math.max(rssPeak, rssMib(pid));
        assert.ok(failures.length < 50, `too many failures, first ones:\n${failures.slice(0, 20).join('\n')}`);
      }
      seconds.set(route, Math.round((Date.now() - routeStarted) / 100) / 10);
      // progress for long runs: a run cut short still tells what it did
      console.log(`# docker fuzz: ${route}: ${perRoute.get(route) ?? 0} answered in ${seconds.get(route)} s, ${failures.length} failures so far, RSS ${rssMib(pid).toFixed(1)} MiB`);
    }
    // the daemon is alive and answers valid requests, harmless ones included
    const alive = await call({ path: '/Plugin.Activate', body: '' });
    assert.equal(alive.status, 200, alive.text);
    const del = await call({ path: '/NetworkDriver.DeleteEndpoint', body: JSON.stringify({ NetworkID: 'a'.repeat(64), EndpointID: 'b'.repeat(64) }) });
    assert.equal(del.status, 200, del.text);
    const rssEnd = rssMib(pid);
    const total = [...perRoute.values()].reduce((a, b) => a + b, 0);
    console.log(`# docker fuzz: seed ${SEED}, ${total} requests (${COUNT} per route × ${PICKED.length} routes) in ${Math.round((Date.now() - started) / 1000)} s; answers ${tally.render()}`);
    console.log(`# docker fuzz: seconds per route: ${[...seconds].map(([r, s]) => `${r} ${s}`).join(', ')}`);
    console.log(`# docker fuzz: daemon RSS ${rssStart.toFixed(1)} MiB after warm-up, peak ${rssPeak.toFixed(1)}, end ${rssEnd.toFixed(1)}`);
    for (const [k, ex] of tally.examples) console.log(`# ${k}: ${ex.join(' | ')}`);
    // nothing created, nothing removed: Neutron, host links, OVS ports of ours, netns (checked before any other verdict)
    const diff = snapshotDiff(before0, await stackSnapshot(openstack.neutron));
    console.log(`# docker fuzz: stack after the run: ${diff.added.length} added, ${diff.removed.length} removed`);
    assert.deepEqual(diff, { added: [], removed: [] });
    assert.deepEqual(failures, []);
    assert.ok(rssEnd - rssStart < RSS_GROWTH_MIB, `RSS grew from ${rssStart.toFixed(1)} to ${rssEnd.toFixed(1)} MiB`);
    if (!overBudget()) for (const r of PICKED) assert.ok((perRoute.get(r) ?? 0) >= COUNT * 0.99, `${r}: ${perRoute.get(r) ?? 0} answered of ${COUNT}`);

  });
});
