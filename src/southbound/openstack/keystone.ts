import { AuthError, ConfigError, UnavailableError } from '../../common/errors.js';
import { silentLogger, type Logger } from '../../common/log.js';
import { header, requestIdOf, safeUrl, type HttpResponse, type OpenStackHttp } from './http.js';

/** Who we are: a v3 password user or a v3 application credential. */
export type KeystoneCredentials =
  | {
      type: 'password';
      password: string;
      userId?: string;
      username?: string;
      userDomainId?: string;
      userDomainName?: string;
    }
  | {
      type: 'v3applicationcredential';
      secret: string;
      /** Either the id, or the name plus the owning user. */
      id?: string;
      name?: string;
      userId?: string;
      username?: string;
      userDomainId?: string;
      userDomainName?: string;
    };

/** What the token is scoped to; ignored for application credentials, which carry their own project. */
export type KeystoneScope =
  | { projectId: string }
  | { projectName: string; projectDomainId?: string; projectDomainName?: string }
  | { domainId: string }
  | { domainName: string }
  | { system: 'all' };

export interface EndpointQuery {
  /** `public` (default), `internal` or `admin`; `publicURL`-style names are accepted too. */
  interface?: string;
  region?: string;
}

/** What a service client needs from Keystone. */
export interface TokenSource {
  getToken(): Promise<string>;
  /** Drops the cached token; with `staleToken`, only when it is still the cached one. */
  invalidate(staleToken?: string): void;
  getEndpoint(serviceType: string, query?: EndpointQuery): Promise<string>;
}

export interface KeystoneAuthOptions {
  /** `http://host:5000/v3` (a missing `/v3` is appended). */
  authUrl: string;
  credentials: KeystoneCredentials;
  scope?: KeystoneScope;
  http: OpenStackHttp;
  logger?: Logger;
  /** Re-authenticate this long before `expires_at`; 60 s by default. */
  refreshMarginMs?: number;
  now?: () => number;
}

interface CatalogEndpoint {
  interface?: string;
  region?: string;
  region_id?: string;
  url?: string;
}

interface CatalogEntry {
  type?: string;
  name?: string;
  endpoints?: CatalogEndpoint[];
}

interface TokenState {
  token: string;
  expiresAt: number;
  refreshAt: number;
  catalog: CatalogEntry[];
}

/**
 * Keystone v3 authentication with token reuse until shortly before expiry, one shared
 * in-flight request for concurrent callers, and catalog lookup. Secrets never reach a
 * log line or an error message.
 */
export class KeystoneAuth implements TokenSource {
  private readonly authUrl: string;
  private readonly credentials: KeystoneCredentials;
  private readonly scope: KeystoneScope | undefined;
  private readonly http: OpenStackHttp;
  private readonly logger: Logger;
  private readonly refreshMarginMs: number;
  private readonly now: () => number;
  private state: TokenState | undefined;
  private inflight: Promise<TokenState> | undefined;
  /** How many token requests were sent; for tests and metrics. */
  authCount = 0;

  constructor(opts: KeystoneAuthOptions) {
    this.authUrl = normalizeAuthUrl(opts.authUrl);
    this.credentials = opts.credentials;
    this.scope = opts.scope;
    this.http = opts.http;
    this.logger = opts.logger ?? silentLogger();
    this.refreshMarginMs = opts.refreshMarginMs ?? 60_000;
    this.now = opts.now ?? Date.now;
    validateCredentials(this.credentials);
  }

  async getToken(): Promise<string> {
    return (await this.current()).token;
  }

  invalidate(staleToken?: string): void {
    if (staleToken === undefined || this.state?.token === staleToken) this.state = undefined;
  }

  async getEndpoint(serviceType: string, query: EndpointQuery = {}): Promise<string> {
    const { catalog } = await this.current();
    const iface = (query.interface ?? 'public').replace(/URL$/, '');
    const entry = catalog.find((e) => e.type === serviceType);
    const ep = entry?.endpoints?.find(
      (e) => e.interface === iface && (!query.region || e.region_id === query.region || e.region === query.region),
    );
    if (!ep?.url) {
      const region = query.region ? ` in region '${query.region}'` : '';
      throw new ConfigError(`failed to find a '${serviceType}' endpoint with interface '${iface}'${region} in the keystone catalog`);
    }
    return ep.url.replace(/\/+$/, '');
  }

  /** The valid cached token, or the one being fetched, or a new one. */
  private async current(): Promise<TokenState> {
    const state = this.state;
    if (state && this.now() < state.refreshAt) return state;
    this.inflight ??= this.authenticate().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private async authenticate(): Promise<TokenState> {
    const url = `${this.authUrl}/auth/tokens`;
    this.authCount++;
    let res: HttpResponse;
    try {
      // Issuing a token changes nothing on Keystone's side, so this POST may be repeated.
      res = await this.http.request({ method: 'POST', url, body: this.requestBody(), idempotent: true });
    } catch (err) {
      if (err instanceof UnavailableError) throw new UnavailableError(`failed to reach keystone: ${err.message}`, { cause: err });
      throw err;
    }
    const who = describePrincipal(this.credentials);
    const reqId = requestIdOf(res.headers);
    if (res.status >= 500) {
      throw new UnavailableError(`failed to authenticate ${who} at ${safeUrl(url)}: keystone answered ${res.status}${reqIdSuffix(reqId)}`);
    }
    if (res.status === 401) {
      throw new AuthError(`keystone rejected the credentials for ${who}${reqIdSuffix(reqId)}`, 401);
    }
    if (res.status >= 400) {
      const msg = scrub(keystoneMessage(res), this.credentials);
      throw new AuthError(`failed to authenticate ${who}: ${res.status} ${msg}${reqIdSuffix(reqId)}`, res.status);
    }
    const token = header(res.headers, 'x-subject-token');
    const body = res.body as { token?: { expires_at?: string; catalog?: CatalogEntry[] } } | undefined;
    if (!token || !body?.token) {
      throw new AuthError(`failed to authenticate ${who}: keystone answered ${res.status} without a token`, res.status);
    }
    const issuedAt = this.now();
    const expiresAt = body.token.expires_at ? Date.parse(body.token.expires_at) : issuedAt + 3_600_000;
    // A lifetime shorter than the margin would mean re-authenticating on every call; keep half of it.
    const margin = Math.min(this.refreshMarginMs, Math.max(0, (expiresAt - issuedAt) / 2));
    const state: TokenState = { token, expiresAt, refreshAt: expiresAt - margin, catalog: body.token.catalog ?? [] };
    this.state = state;
    this.logger.debug({ principal: who, expiresAt: new Date(expiresAt).toISOString(), reqId }, 'keystone token issued');
    return state;
  }

  private requestBody(): unknown {
    const c = this.credentials;
    if (c.type === 'v3applicationcredential') {
      const appCred: Record<string, unknown> = { secret: c.secret };
      if (c.id) appCred.id = c.id;
      else {
        appCred.name = c.name;
        appCred.user = userRef(c);
      }
      return { auth: { identity: { methods: ['application_credential'], application_credential: appCred } } };
    }
    const auth: Record<string, unknown> = {
      identity: { methods: ['password'], password: { user: { ...userRef(c), password: c.password } } },
    };
    const scope = scopeBody(this.scope);
    if (scope) auth.scope = scope;
    return { auth };
  }
}

function normalizeAuthUrl(url: string): string {
  const trimmed = url.replace(/\/+$/, '');
  return /\/v3$/.test(trimmed) ? trimmed : `${trimmed}/v3`;
}

type UserFields = { userId?: string; username?: string; userDomainId?: string; userDomainName?: string };

function userRef(c: UserFields): Record<string, unknown> {
  if (c.userId) return { id: c.userId };
  return { name: c.username, domain: domainRef(c.userDomainId, c.userDomainName) };
}

function domainRef(id: string | undefined, name: string | undefined): Record<string, string> {
  if (id) return { id };
  return { name: name ?? 'Default' };
}

function scopeBody(scope: KeystoneScope | undefined): unknown {
  if (!scope) return undefined;
  if ('projectId' in scope) return { project: { id: scope.projectId } };
  if ('projectName' in scope) return { project: { name: scope.projectName, domain: domainRef(scope.projectDomainId, scope.projectDomainName) } };
  if ('domainId' in scope) return { domain: { id: scope.domainId } };
  if ('domainName' in scope) return { domain: { name: scope.domainName } };
  return { system: { all: true } };
}

function validateCredentials(c: KeystoneCredentials): void {
  if (c.type === 'password') {
    if (!c.password) throw new ConfigError('missing password for keystone password authentication');
    if (!c.userId && !c.username) throw new ConfigError('missing username or user_id for keystone password authentication');
    return;
  }
  if (!c.secret) throw new ConfigError('missing application_credential_secret');
  if (!c.id && !c.name) throw new ConfigError('missing application_credential_id or application_credential_name');
  if (!c.id && !c.userId && !c.username) {
    throw new ConfigError('missing username or user_id for an application credential given by name');
  }
}

/** A name for logs and errors: user or application credential, never a secret. */
function describePrincipal(c: KeystoneCredentials): string {
  if (c.type === 'v3applicationcredential') return `application credential '${c.id ?? c.name}'`;
  return `user '${c.username ?? c.userId}'`;
}

function keystoneMessage(res: HttpResponse): string {
  const err = (res.body as { error?: { title?: string; message?: string } } | undefined)?.error;
  if (err?.message) return err.title ? `${err.title}: ${err.message}` : err.message;
  return res.text.slice(0, 200);
}

/** Keystone may echo rejected input in debug mode; blank the secret if it ever does. */
function scrub(message: string, c: KeystoneCredentials): string {
  const secret = c.type === 'password' ? c.password : c.secret;
  return secret ? message.split(secret).join('***') : message;
}

function reqIdSuffix(reqId: string | undefined): string {
  return reqId ? ` (request ${reqId})` : '';
}
