#!/usr/bin/env node
/**
 * `kuryr-cni` in Node.js: the CNI plugin executable where `go` is missing (scripts/cni-install.sh installs the
 * compiled twin, cni/kuryr-cni, otherwise). Bundled alone by `npm run build:cni` into dist/kuryr-cni.js; all the
 * work happens in the node daemon.
 */
import { runShim } from '../northbound/cni/shim.js';

const chunks: Buffer[] = [];
process.stdin.on('data', (c: Buffer) => chunks.push(c));
process.stdin.on('end', () => {
  void runShim(process.env, Buffer.concat(chunks).toString('utf8')).then(({ stdout, exitCode }) => {
    process.stdout.write(stdout, () => process.exit(exitCode));
  });
});
