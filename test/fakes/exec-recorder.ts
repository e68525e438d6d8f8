import type { Exec, ExecOptions, ExecResult } from '../../src/southbound/dataplane/exec.js';

/** One command the data plane ran. */
export interface Call {
  argv: string[];
  input?: string;
  okCodes?: number[];
}

/** A recording exec: `answer` decides per call (return a result, or throw). */
export function recorder(answer: (c: Call) => Partial<ExecResult> | undefined = () => undefined): { exec: Exec; calls: Call[] } {
  const calls: Call[] = [];
  const exec: Exec = async (argv: string[], opts?: ExecOptions) => {
    const c: Call = { argv, input: opts?.input, okCodes: opts?.okCodes };
    calls.push(c);
    const r = answer(c);
    return { stdout: r?.stdout ?? '', stderr: r?.stderr ?? '' };
  };
  return { exec, calls };
}

/** The lines of an `ip -batch -` call. */
export const lines = (c: Call | undefined): string[] => (c?.input ?? '').trim().split('\n');
