/**
 * A dependency-free CRI (runtime.v1) client for the calls kubelet makes around pod networking:
 * RunPodSandbox / PodSandboxStatus / StopPodSandbox / RemovePodSandbox, as unary gRPC over node:http2
 * with a hand-rolled protobuf encoding of just those messages (field numbers from containerd 1.6.20's
 * vendored cri-api, shared/runtimes/proto). Metadata is shaped as kubelet sends it (cri-client.js).
 */
import http2 from 'node:http2';
import net from 'node:net';

type Field = [no: number, value: string | number | boolean | Msg | undefined];
interface Msg { fields: Field[] }
const msg = (...fields: Field[]): Msg => ({ fields });

function varint(n: number): number[] {
  const out: number[] = [];
  let v = n >>> 0;
  while (v > 0x7f) { out.push((v & 0x7f) | 0x80); v >>>= 7; }
  out.push(v);
  return out;
}

/** Encodes strings (wire type 2), numbers/booleans (varint) and nested messages; skips empty values like proto3. */
function encode(m: Msg): Buffer {
  const parts: Buffer[] = [];
  for (const [no, value] of m.fields) {
    if (value === undefined || value === '' || value === 0 || value === false) continue;
    if (typeof value === 'number' || typeof value === 'boolean') {
      parts.push(Buffer.from([...varint((no << 3) | 0), ...varint(Number(value))]));
    } else {
      const body = typeof value === 'string' ? Buffer.from(value) : encode(value);
      parts.push(Buffer.from([...varint((no << 3) | 2), ...varint(body.length)]), body);
    }
  }
  return Buffer.concat(parts);
}

/** Decodes one level: field number → raw values (Buffer for length-delimited, number for varints). */
function decode(buf: Buffer): Map<number, Array<Buffer | number>> {
  const out = new Map<number, Array<Buffer | number>>();
  let i = 0;
  const read = (): number => { let r = 0; let s = 0; let b: number; do { b = buf[i++]!; r += (b & 0x7f) * 2 ** s; s += 7; } while (b & 0x80); return r; };
  while (i < buf.length) {
    const key = read();
    const [no, wt] = [Math.floor(key / 8), key & 7];
    let v: Buffer | number;
    if (wt === 0) v = read();
    else if (wt === 2) { const len = read(); v = buf.subarray(i, i + len); i += len; }
    else if (wt === 1) { v = 0; i += 8; } else if (wt === 5) { v = 0; i += 4; } else throw new Error(`unsupported wire type ${wt}`);
    out.set(no, [...(out.get(no) ?? []), v]);
  }
  return out;
}

const str = (m: Map<number, Array<Buffer | number>>, no: number): string => String((m.get(no)?.[0] as Buffer | undefined)?.toString('utf8') ?? '');
const mapEntries = (o: Record<string, string>, no: number): Field[] => Object.entries(o).map(([k, v]) => [no, msg([1, k], [2, v])]);

export interface PodSpec {
  name: string;
  namespace: string;
  uid: string;
  annotations?: Record<string, string>;
}

export class CriClient {
  private session: http2.ClientHttp2Session | undefined;
  constructor(readonly socketPath: string) {}

  private connect(): http2.ClientHttp2Session {
    if (!this.session || this.session.closed || this.session.destroyed) {
      this.session = http2.connect('http://localhost', { createConnection: () => net.connect(this.socketPath) });
      this.session.on('error', () => undefined);
    }
    return this.session;
  }

  /** One unary call; rejects with the gRPC status message when grpc-status ≠ 0. */
  call(method: string, request: Msg, timeoutMs = 120_000): Promise<Buffer> {
    const body = encode(request);
    const frame = Buffer.concat([Buffer.from([0, 0, 0, 0, 0]), body]);
    frame.writeUInt32BE(body.length, 1);
    return new Promise((resolve, reject) => {
      const stream = this.connect().request({ ':method': 'POST', ':path': `/runtime.v1.RuntimeService/${method}`, 'content-type': 'application/grpc', te: 'trailers' });
      stream.setTimeout(timeoutMs, () => stream.close(http2.constants.NGHTTP2_CANCEL));
      const chunks: Buffer[] = [];
      let status: string | undefined;
      let message = '';
      const meta = (h: http2.IncomingHttpHeaders) => {
        if (h['grpc-status'] !== undefined) { status = String(h['grpc-status']); message = decodeURIComponent(String(h['grpc-message'] ?? '')); }
      };
      stream.on('response', meta);
      stream.on('trailers', meta);
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('error', reject);
      stream.on('close', () => {
        if (status !== '0') return reject(new Error(`${method}: grpc-status ${status ?? 'none'}: ${message}`));
        const all = Buffer.concat(chunks);
        resolve(all.length >= 5 ? all.subarray(5, 5 + all.readUInt32BE(1)) : Buffer.alloc(0));
      });
      stream.end(frame);
    });
  }

  /** RunPodSandbox with kubelet-shaped metadata, labels, annotations, DNS and namespace options; returns the sandbox id. */
  async runPodSandbox(pod: PodSpec): Promise<string> {
    const config = msg(
      [1, msg([1, pod.name], [2, pod.uid], [3, pod.namespace], [4, 0])],
      [2, pod.name],
      [3, `/var/log/pods/${pod.namespace}_${pod.name}_${pod.uid}`],
      [4, msg([1, '10.96.0.10'], [2, `${pod.namespace}.svc.cluster.local`], [2, 'svc.cluster.local'], [3, 'ndots:5'])],
      ...mapEntries({ 'io.kubernetes.pod.name': pod.name, 'io.kubernetes.pod.namespace': pod.namespace, 'io.kubernetes.pod.uid': pod.uid }, 6),
      ...mapEntries({ 'kubernetes.io/config.seen': new Date().toISOString(), 'kubernetes.io/config.source': 'api', ...pod.annotations }, 7),
      // linux.security_context.namespace_options: network POD (0), pid CONTAINER (1), ipc POD (0)
      [8, msg([2, msg([1, msg([1, 0], [2, 1], [3, 0])])])],
    );
    return str(decode(await this.call('RunPodSandbox', msg([1, config]))), 1);
  }

  /** Pod IP (status.network.ip) and the netns path (from the verbose info JSON). */
  async podSandboxStatus(id: string): Promise<{ ip: string; netns: string | undefined; state: number }> {
    const res = decode(await this.call('PodSandboxStatus', msg([1, id], [2, true])));
    const status = decode((res.get(1)?.[0] as Buffer | undefined) ?? Buffer.alloc(0));
    const network = decode((status.get(5)?.[0] as Buffer | undefined) ?? Buffer.alloc(0));
    let netns: string | undefined;
    for (const e of res.get(2) ?? []) {
      const entry = decode(e as Buffer);
      if (str(entry, 1) !== 'info') continue;
      const info = JSON.parse(str(entry, 2)) as { runtimeSpec?: { linux?: { namespaces?: Array<{ type: string; path?: string }> } } };
      netns = info.runtimeSpec?.linux?.namespaces?.find((n) => n.type === 'network')?.path;
    }
    return { ip: str(network, 1), netns, state: Number(status.get(3)?.[0] ?? 0) };
  }

  async stopPodSandbox(id: string): Promise<void> {
    await this.call('StopPodSandbox', msg([1, id]));
  }

  async removePodSandbox(id: string): Promise<void> {
    await this.call('RemovePodSandbox', msg([1, id]));
  }

  close(): void {
    this.session?.close();
    this.session = undefined;
  }
}
