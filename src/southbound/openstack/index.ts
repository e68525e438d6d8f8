import { readFileSync } from 'node:fs';
import { ConfigError } from '../../common/errors.js';
import { silentLogger, type Logger } from '../../common/log.js';
import { OpenStackHttp, type RetryOptions } from './http.js';
import { KeystoneAuth, type KeystoneCredentials, type KeystoneScope } from './keystone.js';
import { NeutronClient } from './neutron.js';

export { OpenStackHttp } from './http.js';
export { KeystoneAuth, type TokenSource, type KeystoneCredentials, type KeystoneScope } from './keystone.js';
export { NeutronClient } from './neutron.js';

/** Plain options as the `[neutron]` section of kuryr.conf gives them (keystoneauth names, camelCased). */
export interface OpenStackClientOptions {
  authUrl: string;
  authType?: 'password' | 'v3applicationcredential';
  username?: string;
  userId?: string;
  password?: string;
  userDomainName?: string;
  userDomainId?: string;
  projectName?: string;
  projectId?: string;
  projectDomainName?: string;
  projectDomainId?: string;
  /** Domain scope, used when no project is given. */
  domainId?: string;
  domainName?: string;
  /** `all` asks for a system-scoped token. */
  systemScope?: string;
  applicationCredentialId?: string;
  applicationCredentialName?: string;
  applicationCredentialSecret?: string;
  regionName?: string;
  /** Catalog interface: `public`, `internal` or `admin` (`publicURL` style accepted). */
  interface?: string;
  endpointOverride?: string;
  cafile?: string;
  insecure?: boolean;
  timeoutMs?: number;
  retry?: Partial<RetryOptions>;
  logger?: Logger;
}

export interface OpenStackClients {
  http: OpenStackHttp;
  auth: KeystoneAuth;
  neutron: NeutronClient;
  /** Closes the keep-alive pools. */
  close(): Promise<void>;
}

/** Builds one shared HTTP layer, Keystone auth and the Neutron client from plain options. */
export function createOpenStackClients(options: OpenStackClientOptions): OpenStackClients {
  const logger = options.logger ?? silentLogger();
  let ca: Buffer | undefined;
  if (options.cafile) {
    try {
      ca = readFileSync(options.cafile);
    } catch (err) {
      throw new ConfigError(`failed to read cafile ${options.cafile}`, { cause: err });
    }
  }
  const http = new OpenStackHttp({ timeoutMs: options.timeoutMs, ca, insecure: options.insecure, retry: options.retry, logger });
  const auth = new KeystoneAuth({ authUrl: options.authUrl, credentials: credentialsOf(options), scope: scopeOf(options), http, logger });
  const neutron = new NeutronClient({
    auth,
    http,
    endpointOverride: options.endpointOverride,
    interface: options.interface,
    region: options.regionName,
    logger,
  });
  return { http, auth, neutron, close: () => http.close() };
}

function credentialsOf(o: OpenStackClientOptions): KeystoneCredentials {
  const user = { userId: o.userId, username: o.username, userDomainId: o.userDomainId, userDomainName: o.userDomainName };
  const type = o.authType ?? 'password';
  if (type === 'v3applicationcredential') {
    return { type, secret: o.applicationCredentialSecret ?? '', id: o.applicationCredentialId, name: o.applicationCredentialName, ...user };
  }
  if (type !== 'password') throw new ConfigError(`unsupported auth_type '${String(type)}'; use password or v3applicationcredential`);
  return { type, password: o.password ?? '', ...user };
}

function scopeOf(o: OpenStackClientOptions): KeystoneScope | undefined {
  if (o.projectId) return { projectId: o.projectId };
  if (o.projectName) return { projectName: o.projectName, projectDomainId: o.projectDomainId, projectDomainName: o.projectDomainName };
  if (o.domainId) return { domainId: o.domainId };
  if (o.domainName) return { domainName: o.domainName };
  if (o.systemScope === 'all') return { system: 'all' };
  return undefined;
}
