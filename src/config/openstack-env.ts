/**
 * The openstack client conventions that fill [neutron] where kuryr.conf is silent: `OS_*` variables as set by an
 * openrc file, and `OS_CLOUD` selecting an entry of clouds.yaml (searched in `OS_CLIENT_CONFIG_FILE`,
 * `./clouds.yaml`, `~/.config/openstack/clouds.yaml`, `/etc/openstack/clouds.yaml`, first found wins).
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { ConfigError, errorMessage } from '../common/errors.js';
import { parseCloudsYaml, type YamlValue } from './clouds-yaml.js';

/** A [neutron] raw value taken from outside kuryr.conf. */
export interface ExternalValue {
  readonly value: string;
  readonly source: { readonly kind: 'env'; readonly name: string } | { readonly kind: 'clouds'; readonly file: string; readonly cloud: string };
}

/** openstack client variable → [neutron] option. The first variable present wins for each option. */
export const OS_ENV_TO_NEUTRON: ReadonlyArray<readonly [string, string]> = [
  ['OS_AUTH_TYPE', 'auth_type'],
  ['OS_AUTH_URL', 'auth_url'],
  ['OS_USERNAME', 'username'],
  ['OS_USER_ID', 'user_id'],
  ['OS_PASSWORD', 'password'],
  ['OS_PROJECT_NAME', 'project_name'],
  ['OS_TENANT_NAME', 'project_name'],
  ['OS_PROJECT_ID', 'project_id'],
  ['OS_TENANT_ID', 'project_id'],
  ['OS_USER_DOMAIN_NAME', 'user_domain_name'],
  ['OS_USER_DOMAIN_ID', 'user_domain_id'],
  ['OS_PROJECT_DOMAIN_NAME', 'project_domain_name'],
  ['OS_PROJECT_DOMAIN_ID', 'project_domain_id'],
  ['OS_DOMAIN_NAME', 'domain_name'],
  ['OS_DOMAIN_ID', 'domain_id'],
  ['OS_SYSTEM_SCOPE', 'system_scope'],
  ['OS_TRUST_ID', 'trust_id'],
  ['OS_TOKEN', 'token'],
  ['OS_APPLICATION_CREDENTIAL_ID', 'application_credential_id'],
  ['OS_APPLICATION_CREDENTIAL_NAME', 'application_credential_name'],
  ['OS_APPLICATION_CREDENTIAL_SECRET', 'application_credential_secret'],
  ['OS_REGION_NAME', 'region_name'],
  ['OS_INTERFACE', 'endpoint_type'],
  ['OS_ENDPOINT_TYPE', 'endpoint_type'],
  ['OS_CACERT', 'cafile'],
  ['OS_CERT', 'certfile'],
  ['OS_KEY', 'keyfile'],
];

/** keystoneauth/os-client-config interfaces may be spelled `publicURL`; Kuryr's choices are `public`... */
function normalizeInterface(v: string): string {
  return v.endsWith('URL') ? v.slice(0, -3) : v;
}

/** [neutron] values from `OS_*` client variables (empty values are ignored, as the clients do). */
export function neutronFromOsEnv(env: NodeJS.ProcessEnv): Map<string, ExternalValue> {
  const out = new Map<string, ExternalValue>();
  for (const [name, option] of OS_ENV_TO_NEUTRON) {
    const value = env[name];
    if (value === undefined || value === '' || out.has(option)) continue;
    out.set(option, { value: option === 'endpoint_type' ? normalizeInterface(value) : value, source: { kind: 'env', name } });
  }
  return out;
}

/** A clouds.yaml that was found and parsed. */
export interface CloudsFile {
  readonly file: string;
  readonly data: YamlValue;
}

/** The clouds.yaml candidates in search order. */
export function cloudsYamlSearchPath(env: NodeJS.ProcessEnv): string[] {
  const home = env['HOME'] ?? homedir();
  const paths: string[] = [];
  const explicit = env['OS_CLIENT_CONFIG_FILE'];
  if (explicit !== undefined && explicit !== '') paths.push(resolve(explicit));
  paths.push(resolve('clouds.yaml'), join(home, '.config', 'openstack', 'clouds.yaml'), '/etc/openstack/clouds.yaml');
  return paths;
}

/** Read the first existing clouds.yaml among `paths` (default: `cloudsYamlSearchPath(env)`); undefined if none. */
export function findCloudsYaml(env: NodeJS.ProcessEnv, paths?: readonly string[]): CloudsFile | { readonly file: undefined; readonly searched: readonly string[] } {
  const candidates = paths ?? cloudsYamlSearchPath(env);
  for (const file of candidates) {
    if (!existsSync(file)) continue;
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError(`failed to read ${file}: ${errorMessage(err)}`, { cause: err });
    }
    return { file, data: parseCloudsYaml(text, file) };
  }
  return { file: undefined, searched: candidates };
}

function isMap(v: YamlValue | undefined): v is { [key: string]: YamlValue } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const AUTH_KEYS = [
  'auth_url', 'username', 'user_id', 'password', 'project_name', 'project_id', 'user_domain_name', 'user_domain_id',
  'project_domain_name', 'project_domain_id', 'domain_name', 'domain_id', 'system_scope', 'trust_id', 'token',
  'application_credential_id', 'application_credential_name', 'application_credential_secret',
  'default_domain_id', 'default_domain_name',
];

/** [neutron] values from cloud `name` of a clouds.yaml; an absent file or cloud is an error naming both. */
export function neutronFromCloud(found: ReturnType<typeof findCloudsYaml>, name: string): Map<string, ExternalValue> {
  if (found.file === undefined) {
    const searched = 'searched' in found ? found.searched.join(', ') : '';
    throw new ConfigError(`OS_CLOUD=${name} is set but no clouds.yaml was found (searched ${searched})`);
  }
  const { file, data } = found as CloudsFile;
  const clouds = isMap(data) ? data['clouds'] : undefined;
  const cloud = isMap(clouds) ? clouds[name] : undefined;
  if (!isMap(cloud)) {
    const known = isMap(clouds) ? Object.keys(clouds).join(', ') : 'none';
    throw new ConfigError(`cloud "${name}" (OS_CLOUD) not found in ${file}; clouds defined: ${known}`);
  }
  const out = new Map<string, ExternalValue>();
  const source = { kind: 'clouds', file, cloud: name } as const;
  const put = (option: string, v: YamlValue | undefined): void => {
    if (v === undefined || v === null || out.has(option)) return;
    if (typeof v === 'object') throw new ConfigError(`invalid value for ${option} in cloud "${name}" of ${file}: expected a scalar`);
    out.set(option, { value: String(v), source });
  };
  const auth = cloud['auth'];
  if (auth !== undefined && auth !== null && !isMap(auth)) throw new ConfigError(`invalid "auth" in cloud "${name}" of ${file}: expected a mapping`);
  for (const key of AUTH_KEYS) put(key, isMap(auth) ? auth[key] : undefined);
  put('auth_type', cloud['auth_type']);
  put('region_name', cloud['region_name']);
  const iface = cloud['interface'] ?? cloud['endpoint_type'];
  if (typeof iface === 'string') put('endpoint_type', normalizeInterface(iface));
  put('cafile', cloud['cacert']);
  put('certfile', cloud['cert']);
  put('keyfile', cloud['key']);
  if (cloud['verify'] === false) out.set('insecure', { value: 'true', source });
  return out;
}
