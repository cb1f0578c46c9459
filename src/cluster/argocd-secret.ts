import { RelayError } from '../errors.js';

/** Argo CD marks its cluster Secrets with this label (design §4). */
export const ARGOCD_SECRET_TYPE_LABEL = 'argocd.argoproj.io/secret-type';

/** A target cluster as described by an Argo CD cluster Secret. Pure data: holds credentials, never log it. */
export interface ArgoCdCluster {
  name: string;
  server: string;
  bearerToken?: string;
  username?: string;
  password?: string;
  tls: {
    /** Base64 PEM, as Argo CD stores it. */
    caData?: string;
    certData?: string;
    keyData?: string;
    /** Skip TLS verification only when the Secret says so explicitly. */
    insecure: boolean;
    serverName?: string;
  };
}

interface SecretLike {
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string> };
  /** Base64 values, as the API returns them. */
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}

function field(secret: SecretLike, key: string): string | undefined {
  const s = secret.stringData?.[key];
  if (s !== undefined) return s;
  const b = secret.data?.[key];
  return b === undefined ? undefined : Buffer.from(b, 'base64').toString('utf8');
}

function optString(v: unknown, where: string): string | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v !== 'string') throw new RelayError('CONFIG_INVALID', `${where} must be a string`);
  return v;
}

/**
 * Parses an Argo CD cluster Secret (keys `name`, `server`, `config` JSON with `bearerToken`,
 * `username`/`password` and `tlsClientConfig{caData,certData,keyData,insecure,serverName}`).
 * Refuses Secrets that are not cluster Secrets or use auth this tool does not implement.
 * Messages name keys only, never values.
 */
export function parseArgoCdClusterSecret(secret: SecretLike): ArgoCdCluster {
  const where = `Argo CD cluster Secret ${secret.metadata?.namespace ?? ''}/${secret.metadata?.name ?? ''}`;
  if (secret.metadata?.labels?.[ARGOCD_SECRET_TYPE_LABEL] !== 'cluster') {
    throw new RelayError('CONFIG_INVALID', `${where} lacks the label ${ARGOCD_SECRET_TYPE_LABEL}=cluster; name a cluster Secret`);
  }
  const server = field(secret, 'server');
  if (!server) throw new RelayError('CONFIG_INVALID', `${where} has no "server" key`);
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    throw new RelayError('CONFIG_INVALID', `${where}: "server" is not a URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new RelayError('CONFIG_INVALID', `${where}: "server" must be an https URL`);
  const name = field(secret, 'name') || url.host;
  const configText = field(secret, 'config') ?? '{}';
  let config: Record<string, unknown>;
  try {
    const parsed = JSON.parse(configText) as unknown;
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
    config = parsed as Record<string, unknown>;
  } catch (err) {
    throw new RelayError('CONFIG_INVALID', `${where}: "config" is not a JSON object`, { cause: err instanceof Error ? new Error(err.message.replace(/".*"/g, '"…"')) : undefined });
  }
  for (const unsupported of ['execProviderConfig', 'awsAuthConfig']) {
    if (config[unsupported] !== undefined && config[unsupported] !== null) {
      throw new RelayError('CONFIG_INVALID', `${where}: config.${unsupported} is not supported; use bearerToken or a client certificate`);
    }
  }
  const tls = (config.tlsClientConfig ?? {}) as Record<string, unknown>;
  if (typeof tls !== 'object' || Array.isArray(tls)) throw new RelayError('CONFIG_INVALID', `${where}: config.tlsClientConfig must be an object`);
  if (tls.insecure !== undefined && typeof tls.insecure !== 'boolean') throw new RelayError('CONFIG_INVALID', `${where}: config.tlsClientConfig.insecure must be true or false`);
  const certData = optString(tls.certData, `${where}: config.tlsClientConfig.certData`);
  const keyData = optString(tls.keyData, `${where}: config.tlsClientConfig.keyData`);
  if ((certData === undefined) !== (keyData === undefined)) throw new RelayError('CONFIG_INVALID', `${where}: config.tlsClientConfig needs both certData and keyData for a client certificate`);
  const bearerToken = optString(config.bearerToken, `${where}: config.bearerToken`);
  const username = optString(config.username, `${where}: config.username`);
  const password = optString(config.password, `${where}: config.password`);
  if (!bearerToken && !certData && !username) throw new RelayError('CONFIG_INVALID', `${where}: config has no credentials (bearerToken, tlsClientConfig.certData/keyData or username/password)`);
  return {
    name,
    server,
    ...(bearerToken ? { bearerToken } : {}),
    ...(username ? { username } : {}),
    ...(password ? { password } : {}),
    tls: {
      ...(optString(tls.caData, `${where}: config.tlsClientConfig.caData`) ? { caData: tls.caData as string } : {}),
      ...(certData ? { certData } : {}),
      ...(keyData ? { keyData } : {}),
      insecure: tls.insecure === true,
      ...(optString(tls.serverName, `${where}: config.tlsClientConfig.serverName`) ? { serverName: tls.serverName as string } : {}),
    },
  };
}
