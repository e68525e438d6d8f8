/**
 * What the `kuryr-cni` shim and the node daemon agree on. Dependency-free: the shim bundles this
 * file alone, so nothing here may import pino, zod or the core. cni/kuryr-cni/main.go repeats the constants
 * the shim uses (test/unit/cni-shim-go.test.ts checks them).
 */

/** CNI spec versions we accept in `cniVersion` and list for VERSION, oldest first. */
export const SUPPORTED_VERSIONS = ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;

/** The daemon's socket when the conflist names none (`[cni_daemon] socket_path` default). */
export const DEFAULT_DAEMON_SOCKET = '/run/kuryr/cni.sock';

/** Conflist key naming the daemon's unix socket. */
export const SOCKET_CONFIG_KEY = 'kuryr_socket';

/**
 * Conflist key: how long (seconds) the shim waits for the daemon's answer before it gives up with
 * "try again later". A daemon that accepts the connection and never answers must not hang the runtime.
 */
export const TIMEOUT_CONFIG_KEY = 'kuryr_timeout';

/** Default of `kuryr_timeout`: above the daemon's own worst case (Neutron timeouts plus the ACTIVE wait). */
export const DEFAULT_TIMEOUT_S = 300;

/** The one daemon method: `POST /Cni.Exec` with a `DaemonRequest`, answered 200 with the plugin's stdout object (or `{}`) or non-200 with a `CniErrorBody`. */
export const DAEMON_METHOD = 'Cni.Exec';

/** Error codes of the CNI spec (its "Error codes" section, plus libcni's 8 and 999) and ours (≥ 100). */
export const CNI_CODES = {
  incompatibleVersion: 1,
  unsupportedField: 2,
  unknownContainer: 3,
  invalidEnv: 4,
  ioFailure: 5,
  decodeFailure: 6,
  invalidConfig: 7,
  invalidNetns: 8,
  tryAgainLater: 11,
  notAvailable: 50,
  limitedConnectivity: 51,
  /** Ours: CHECK found the attachment different from what ADD made. */
  attachmentDiffers: 100,
  internal: 999,
} as const;

/** The `CNI_*` variables the shim forwards (CNI_PATH is not needed by the daemon but kept for logs). */
export const CNI_ENV_KEYS = ['CNI_COMMAND', 'CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_ARGS', 'CNI_PATH'] as const;

/** Shim → daemon body. */
export interface DaemonRequest {
  env: Partial<Record<(typeof CNI_ENV_KEYS)[number], string>>;
  /** The network configuration from stdin, parsed. */
  config: Record<string, unknown>;
}

/** A CNI error as printed on stdout. */
export interface CniErrorBody {
  cniVersion: string;
  code: number;
  msg: string;
  details?: string;
}

export function versionReply(cniVersion: string | undefined): { cniVersion: string; supportedVersions: string[] } {
  return { cniVersion: cniVersion ?? '1.1.0', supportedVersions: [...SUPPORTED_VERSIONS] };
}
