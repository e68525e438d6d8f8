import type { Logger } from '../common/log.js';
import type { KuryrConfig } from '../config/load.js';
import { createOpenStackClients, type OpenStackClients } from '../southbound/openstack/index.js';
import { ConfigError } from '../common/errors.js';

/** Builds the Keystone + Neutron clients from `[neutron]` of kuryr.conf (keystoneauth option names). */
export function openStackFromConfig(config: KuryrConfig, logger: Logger): OpenStackClients {
  const n = config.neutron;
  if (!n.auth_url) throw new ConfigError('[neutron] auth_url is not set (kuryr.conf, OS_AUTH_URL or clouds.yaml)');
  const authType = n.auth_type ?? 'password';
  const type = authType === 'v3applicationcredential' ? 'v3applicationcredential' : authType === 'password' || authType === 'v3password' ? 'password' : undefined;
  if (!type) throw new ConfigError(`[neutron] auth_type ${authType} is not supported; use password or v3applicationcredential`);
  return createOpenStackClients({
    authUrl: n.auth_url,
    authType: type,
    username: n.username ?? undefined,
    userId: n.user_id ?? undefined,
    password: n.password ?? undefined,
    userDomainName: n.user_domain_name ?? n.default_domain_name ?? undefined,
    userDomainId: n.user_domain_id ?? n.default_domain_id ?? undefined,
    projectName: n.project_name ?? undefined,
    projectId: n.project_id ?? undefined,
    projectDomainName: n.project_domain_name ?? n.default_domain_name ?? undefined,
    projectDomainId: n.project_domain_id ?? n.default_domain_id ?? undefined,
    domainId: n.domain_id ?? undefined,
    domainName: n.domain_name ?? undefined,
    systemScope: n.system_scope ?? undefined,
    applicationCredentialId: n.application_credential_id ?? undefined,
    applicationCredentialName: n.application_credential_name ?? undefined,
    applicationCredentialSecret: n.application_credential_secret ?? undefined,
    regionName: n.region_name ?? undefined,
    interface: n.endpoint_type,
    cafile: n.cafile ?? undefined,
    insecure: n.insecure,
    timeoutMs: n.timeout ? n.timeout * 1000 : undefined,
    logger,
  });
}
