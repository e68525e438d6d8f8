/**
 * What CNI STATUS asks: can this node reach Keystone, Neutron and its own data plane? Keystone is
 * asked through the same HTTP layer as every OpenStack call, so `[neutron] cafile` and `insecure`
 * apply (a private CA must not make STATUS report Keystone down while the real calls work).
 */
import { errorMessage } from '../common/errors.js';
import type { ControlPlaneProbe } from '../core/pod/pod-model.js';
import type { Exec } from './dataplane/exec.js';
import type { OpenStackClients } from './openstack/index.js';

export class NodeControlPlaneProbe implements ControlPlaneProbe {
  constructor(
    private readonly openstack: Pick<OpenStackClients, 'http' | 'auth' | 'neutron'>,
    private readonly authUrl: string,
    private readonly exec: Exec,
    private readonly ovsBridge: string,
    /** Nested (node in a VM): the data plane is the VM NIC, not OVS. */
    private readonly vmNic?: { linkInfo(refresh: boolean): Promise<unknown> },
  ) {}

  /** Keystone answers at all (one attempt: a probe reports, it does not retry), then issues a token. */
  async keystone(): Promise<void> {
    const res = await this.openstack.http.request({ method: 'GET', url: this.authUrl, idempotent: false });
    if (res.status >= 500) throw new Error(`Keystone ${this.authUrl} answered ${res.status}`);
    await this.openstack.auth.getToken();
  }

  async neutron(): Promise<void> {
    await this.openstack.neutron.getExtension('binding');
  }

  /** The OVS integration bridge exists and ovsdb answers; nested, the VM NIC still exists. */
  async dataplane(): Promise<void> {
    if (this.vmNic) {
      await this.vmNic.linkInfo(true);
      return;
    }
    await this.exec(['ovs-vsctl', '--timeout=3', 'br-exists', this.ovsBridge], { timeoutMs: 5_000 }).catch((err: unknown) => {
      throw new Error(`OVS bridge ${this.ovsBridge} is missing or ovsdb is down: ${errorMessage(err)}`);
    });
  }
}
