import { must, sh, type RunResult } from './sh.js';

/** Debian's 20.10 CLI: the newer CLI earlier on PATH mismatches the 20.10 daemon. */
export const DOCKER_BIN = '/usr/bin/docker';

export class DockerCli {
  constructor(private readonly host?: string) {}

  private argv(args: string[]): string[] {
    return this.host ? [DOCKER_BIN, '-H', this.host, ...args] : [DOCKER_BIN, ...args];
  }

  run(args: string[], timeoutMs = 180_000): Promise<RunResult> {
    return sh(this.argv(args), { timeoutMs });
  }

  async must(args: string[], timeoutMs = 180_000): Promise<string> {
    return (await must(this.argv(args), { timeoutMs })).trim();
  }

  async networkInspect(name: string): Promise<DockerNetwork> {
    const out = await this.must(['network', 'inspect', name]);
    return (JSON.parse(out) as DockerNetwork[])[0]!;
  }

  async containerInspect(name: string): Promise<DockerContainer> {
    const out = await this.must(['inspect', name]);
    return (JSON.parse(out) as DockerContainer[])[0]!;
  }

  /** Removes containers and networks whose names start with `prefix`; for test cleanup. */
  async removeAll(prefix: string): Promise<void> {
    const ids = (await this.run(['ps', '-aq', '--filter', `name=${prefix}`])).stdout.split('\n').filter(Boolean);
    if (ids.length > 0) await this.run(['rm', '-f', ...ids]);
    const nets = (await this.run(['network', 'ls', '-q', '--filter', `name=${prefix}`])).stdout.split('\n').filter(Boolean);
    for (const n of nets) await this.run(['network', 'rm', n]);
  }
}

export interface DockerNetwork {
  Id: string;
  Name: string;
  Driver: string;
  IPAM: { Driver: string; Config: Array<{ Subnet?: string; IPRange?: string; Gateway?: string }>; Options: Record<string, string> | null };
  Containers: Record<string, { Name: string; EndpointID: string; MacAddress: string; IPv4Address: string; IPv6Address: string }>;
  Options: Record<string, string>;
}

export interface DockerContainer {
  Id: string;
  Name: string;
  State: { Running: boolean; Pid: number };
  NetworkSettings: {
    SandboxKey: string;
    Networks: Record<string, { EndpointID: string; IPAddress: string; GlobalIPv6Address: string; MacAddress: string; Gateway: string; IPv6Gateway: string }>;
  };
}
