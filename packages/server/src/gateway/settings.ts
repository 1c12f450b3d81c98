import {
  ConfigError,
  parseBoolean,
  parseChoice,
  parseInteger,
  parseList,
  parseSeconds,
  parseUrl,
  readSetting,
  type Environment,
} from '../config/index.js';
import { DEFAULT_HISTORY_META_TTL, defaultNamespaces, namespaceDefaults, organizationNamespaceDefaults, webhooksNamespaceDefaults, type ChannelSettings, type NamespaceOptions } from './channels/options.js';
import { loadCentrifugoConfigFile, type FileConfig, type FileProxy, type FileTokenSettings } from './config-file.js';
import { DisconnectCode } from './protocol/codes.js';
import type { ProxyEndpoint } from './proxy/http.js';

/** Where connection (or subscription) token keys come from. */
export interface TokenSettings {
  /** JWKS URL; `'identity'` is this process's identity service JWKS. When set, only JWKS keys are used. */
  readonly jwksUrl: string | null;
  /** HS256/384/512 secret (Centrifugo `hmac_secret_key`). */
  readonly hmacSecret: string | null;
  /** RS256/384/512 public key, PEM (`rsa_public_key`). */
  readonly rsaPublicKey: string | null;
  /** ES256/384/512 public key, PEM (`ecdsa_public_key`). */
  readonly ecdsaPublicKey: string | null;
  /** Required `aud` when set. */
  readonly audience: string | null;
  /** Required `iss` when set. */
  readonly issuer: string | null;
}

/** An HTTP proxy to the application backend (Centrifugo's proxy format). */
export type RpcProxySettings = ProxyEndpoint;

/** The proxies of connections and channels; `null` where none is configured. */
export interface ProxySettings {
  /** Decides connects without a token (`client.proxy.connect`). */
  readonly connect: ProxyEndpoint | null;
  /** Decides, at expiry, whether a connection lives on (`client.proxy.refresh`); the client then never refreshes itself. */
  readonly refresh: ProxyEndpoint | null;
  /** `channel.proxy.subscribe`, for namespaces with `subscribe_proxy_enabled`. */
  readonly subscribe: ProxyEndpoint | null;
  /** `channel.proxy.publish`, for namespaces with `publish_proxy_enabled`. */
  readonly publish: ProxyEndpoint | null;
  /** `channel.proxy.sub_refresh`, for namespaces with `sub_refresh_proxy_enabled`. */
  readonly subRefresh: ProxyEndpoint | null;
}

/** Every gateway setting after validation. Defaults follow Centrifugo's. */
export interface GatewaySettings {
  /** Seconds between server pings; 0 disables. Default 25. */
  readonly pingInterval: number;
  /** Seconds to wait for the pong. Default 8. */
  readonly pongTimeout: number;
  /** Seconds an unauthenticated socket may stay open. Default 10. */
  readonly staleCloseDelay: number;
  /** Grace seconds after the token's expiry before the connection is closed. Default 25. */
  readonly expiredCloseDelay: number;
  /** Same for subscriptions with expiring tokens. Default 25. */
  readonly expiredSubCloseDelay: number;
  /** Close code for an expired connection: 3005 (Centrifugo) or 3500. Default 3005. */
  readonly expiredCloseCode: DisconnectCode.ConnectionExpired | DisconnectCode.InvalidToken;
  /** Largest incoming frame in bytes. Default 65536. */
  readonly messageSizeLimit: number;
  /** Bytes queued for a slow client before it is closed with 3008. Default 1048576. */
  readonly queueMaxSize: number;
  /**
   * Most channels one connection may be subscribed to, server-side subscriptions included (Centrifugo's
   * `client_channel_limit`); a subscribe beyond it gets error 106. 0 = no limit. Default 128.
   */
  readonly clientChannelLimit: number;
  /**
   * Where membership of organization channels (`org:<id>`) is checked: `database` (the claim must name the
   * organization and the organizations tables must list the user as a member) or `claim` (the token's
   * `app_metadata.organization_id` alone, for tokens minted elsewhere for users the database does not
   * know). Default `database` when connection tokens are the identity service's, `claim` otherwise.
   */
  readonly organizationMembership: 'database' | 'claim';
  /** Seconds a membership answer is cached per node (0: ask the database every time). Default 5. */
  readonly membershipCacheTtl: number;
  /** Development mode: anonymous connects, every channel open, no expiry. Default false. */
  readonly insecure: boolean;
  /** Connections without a token join as anonymous users. Default false. */
  readonly allowAnonymousConnectWithoutToken: boolean;
  /** Tokens with an empty `sub` are refused with 3507. Default false. */
  readonly disallowAnonymousConnectionTokens: boolean;
  /**
   * A connect without a token is accepted in a restricted state that may only call RPC methods named
   * `auth.*` (sign-in over the socket), for at most {@link authRpcLifetime} seconds. Default true when
   * the identity service runs in the same process, false otherwise.
   */
  readonly authRpc: boolean;
  /** Seconds a restricted (token-less) connection may stay open. Default 60, at most 60. */
  readonly authRpcLifetime: number;
  /**
   * Restricted (token-less) connections this node holds at once; a connect without a token beyond it is
   * closed with 3504 `connection limit`, so token-less sockets cannot pile up. Default 1000.
   */
  readonly authRpcMaxConnections: number;
  /** Browser origins allowed; empty allows only requests without an Origin or from the same host. */
  readonly allowedOrigins: readonly string[];
  readonly token: TokenSettings;
  /** Separate verifier for subscription tokens; `null` uses {@link token}. */
  readonly subscriptionToken: TokenSettings | null;
  readonly channels: ChannelSettings;
  readonly rpcProxy: RpcProxySettings | null;
  readonly proxies: ProxySettings;
  /** Methods without a namespace go to the proxy. */
  readonly rpcWithoutNamespaceProxy: boolean;
  /** RPC namespaces (text before the boundary) and whether each goes to the proxy. */
  readonly rpcNamespaces: ReadonlyMap<string, boolean>;
  readonly rpcNamespaceBoundary: string;
  /** Server API key; `null` means generate one at first start and persist it. */
  readonly apiKey: string | null;
  /** Server API without a key (development only). Default false. */
  readonly apiInsecure: boolean;
  /** The config file read, if any. */
  readonly configFile: string | null;
  /** Keys of the config file that are not supported (reported at start). */
  readonly unsupported: readonly string[];
}

export interface GatewaySettingsOverrides {
  /** Path of a Centrifugo v6 JSON config file (the `--gateway-config` flag). */
  readonly configFile?: string;
  /** Whether the identity service runs in this process (the default of `LATCHKEY_GATEWAY_AUTH_RPC`). Default false. */
  readonly identityInProcess?: boolean;
}

function tokenFromFile(file: FileTokenSettings | undefined): TokenSettings {
  return {
    jwksUrl: file?.jwks_public_endpoint ?? null,
    hmacSecret: file?.hmac_secret_key ?? null,
    rsaPublicKey: file?.rsa_public_key ?? null,
    ecdsaPublicKey: file?.ecdsa_public_key ?? null,
    audience: file?.audience ?? null,
    issuer: file?.issuer ?? null,
  };
}

function readTokenEnv(env: Environment, base: TokenSettings, prefix: string): TokenSettings {
  const jwks = readSetting(env, [`${prefix}_JWKS_URL`]);
  const hmac = readSetting(env, [`${prefix}_HMAC_SECRET`]);
  const rsa = readSetting(env, [`${prefix}_RSA_PUBLIC_KEY`]);
  const ecdsa = readSetting(env, [`${prefix}_ECDSA_PUBLIC_KEY`]);
  const audience = readSetting(env, [`${prefix}_AUDIENCE`]);
  const issuer = readSetting(env, [`${prefix}_ISSUER`]);
  for (const pem of [rsa, ecdsa]) {
    if (pem && !pem.value.includes('-----BEGIN PUBLIC KEY-----')) throw new ConfigError(pem.name, 'must be a PEM public key (-----BEGIN PUBLIC KEY-----)');
  }
  if (hmac && hmac.value.length < 16) throw new ConfigError(hmac.name, 'must be at least 16 characters');
  return {
    jwksUrl: jwks ? (jwks.value === 'identity' ? 'identity' : parseUrl(jwks, ['http', 'https']).toString()) : base.jwksUrl,
    hmacSecret: hmac?.value ?? base.hmacSecret,
    rsaPublicKey: rsa?.value.replace(/\\n/g, '\n') ?? base.rsaPublicKey,
    ecdsaPublicKey: ecdsa?.value.replace(/\\n/g, '\n') ?? base.ecdsaPublicKey,
    audience: audience?.value ?? base.audience,
    issuer: issuer?.value ?? base.issuer,
  };
}

function hasKeys(token: TokenSettings): boolean {
  return token.jwksUrl !== null || token.hmacSecret !== null || token.rsaPublicKey !== null || token.ecdsaPublicKey !== null;
}

/** A proxy from a config file, its endpoint checked (http or https). */
function proxyOf(file: FileProxy | undefined, name: string): ProxyEndpoint | null {
  if (!file) return null;
  return {
    endpoint: parseUrl({ name, value: file.endpoint }, ['http', 'https']).toString(),
    timeout: file.timeout ?? 1,
    httpHeaders: file.httpHeaders.map((header) => header.toLowerCase()),
    staticHeaders: file.staticHeaders,
  };
}

/**
 * Reads the gateway's settings: a Centrifugo config file (`--gateway-config` or
 * `LATCHKEY_GATEWAY_CONFIG`) first, then `LATCHKEY_GATEWAY_*` variables, which win. Throws
 * {@link ConfigError} naming the first bad variable.
 */
export function loadGatewaySettings(env: Environment, overrides: GatewaySettingsOverrides = {}): GatewaySettings {
  const fileSetting = overrides.configFile ? { name: '--gateway-config', value: overrides.configFile } : readSetting(env, ['LATCHKEY_GATEWAY_CONFIG']);
  const file: FileConfig = fileSetting ? loadCentrifugoConfigFile(fileSetting.value, fileSetting.name) : { unsupported: [] };

  const seconds = (names: string[], fallback: number, min = 0, max = 86_400): number => {
    const setting = readSetting(env, names);
    return setting ? parseSeconds(setting, { min, max }) : fallback;
  };
  const flag = (names: string[], fallback: boolean): boolean => {
    const setting = readSetting(env, names);
    return setting ? parseBoolean(setting) : fallback;
  };

  const pingInterval = seconds(['LATCHKEY_GATEWAY_PING_INTERVAL'], file.pingInterval ?? 25);
  const pongTimeout = seconds(['LATCHKEY_GATEWAY_PONG_TIMEOUT'], file.pongTimeout ?? 8);
  if (pingInterval > 0 && pongTimeout >= pingInterval) {
    throw new ConfigError('LATCHKEY_GATEWAY_PONG_TIMEOUT', `must be shorter than the ping interval (${pingInterval} s)`);
  }
  const closeCodeSetting = readSetting(env, ['LATCHKEY_GATEWAY_EXPIRED_CLOSE_CODE']);
  const expiredCloseCode = closeCodeSetting ? Number(parseChoice(closeCodeSetting, ['3005', '3500'])) : 3005;

  const sizeSetting = readSetting(env, ['LATCHKEY_GATEWAY_MESSAGE_SIZE_LIMIT']);
  const queueSetting = readSetting(env, ['LATCHKEY_GATEWAY_QUEUE_MAX_SIZE']);
  const originsSetting = readSetting(env, ['LATCHKEY_GATEWAY_ALLOWED_ORIGINS']);
  const channelLimitSetting = readSetting(env, ['LATCHKEY_GATEWAY_CLIENT_CHANNEL_LIMIT']);
  const authRpcMaxSetting = readSetting(env, ['LATCHKEY_GATEWAY_AUTH_RPC_MAX_CONNECTIONS']);
  const membershipSetting = readSetting(env, ['LATCHKEY_GATEWAY_ORGANIZATION_MEMBERSHIP']);

  let token = readTokenEnv(env, tokenFromFile(file.token), 'LATCHKEY_GATEWAY_TOKEN');
  if (!hasKeys(token)) token = { ...token, jwksUrl: 'identity' };
  const subscriptionBase = file.subscriptionToken ? tokenFromFile(file.subscriptionToken) : null;
  const subscriptionToken = readTokenEnv(env, subscriptionBase ?? tokenFromFile(undefined), 'LATCHKEY_GATEWAY_SUBSCRIPTION_TOKEN');

  const orgSetting = env.LATCHKEY_GATEWAY_ORGANIZATION_NAMESPACE;
  const organizationNamespace = orgSetting === undefined ? 'org' : orgSetting.trim() === '' ? null : orgSetting.trim();
  if (organizationNamespace !== null && !/^[-a-zA-Z0-9_.]{2,}$/.test(organizationNamespace)) {
    throw new ConfigError('LATCHKEY_GATEWAY_ORGANIZATION_NAMESPACE', 'must match ^[-a-zA-Z0-9_.]{2,}$');
  }
  const namespaces = new Map<string, NamespaceOptions>();
  for (const namespace of file.namespaces ?? defaultNamespaces(organizationNamespace)) namespaces.set(namespace.name, namespace);
  // Inbound webhook events have their channel whatever the config file lists; a `webhooks` namespace it
  // defines stays service-role only.
  const webhooks = namespaces.get('webhooks');
  namespaces.set('webhooks', webhooks ? { ...webhooks, service_role_only: true } : webhooksNamespaceDefaults());
  if (organizationNamespace) {
    const existing = namespaces.get(organizationNamespace);
    namespaces.set(organizationNamespace, existing ? { ...existing, organization_bound: true } : organizationNamespaceDefaults(organizationNamespace));
  }

  const proxyUrl = readSetting(env, ['LATCHKEY_GATEWAY_RPC_PROXY_URL']);
  const proxyTimeout = readSetting(env, ['LATCHKEY_GATEWAY_RPC_PROXY_TIMEOUT']);
  let rpcProxy: RpcProxySettings | null = null;
  if (proxyUrl || file.rpcProxy) {
    const endpoint = proxyUrl ? parseUrl(proxyUrl, ['http', 'https']).toString() : parseUrl({ name: 'rpc.proxy.endpoint', value: file.rpcProxy?.endpoint ?? '' }, ['http', 'https']).toString();
    rpcProxy = {
      endpoint,
      timeout: proxyTimeout ? parseSeconds(proxyTimeout, { min: 0.01, max: 600 }) : (file.rpcProxy?.timeout ?? 1),
      httpHeaders: (file.rpcProxy?.httpHeaders ?? []).map((name) => name.toLowerCase()),
      staticHeaders: file.rpcProxy?.staticHeaders ?? {},
    };
  }
  const apiKeySetting = readSetting(env, ['LATCHKEY_GATEWAY_API_KEY']);
  if (apiKeySetting && apiKeySetting.value.length < 16) throw new ConfigError(apiKeySetting.name, 'must be at least 16 characters');

  return {
    pingInterval,
    pongTimeout,
    staleCloseDelay: seconds(['LATCHKEY_GATEWAY_STALE_CLOSE_DELAY'], file.staleCloseDelay ?? 10, 0.01),
    expiredCloseDelay: seconds(['LATCHKEY_GATEWAY_EXPIRED_CLOSE_DELAY'], file.expiredCloseDelay ?? 25),
    expiredSubCloseDelay: seconds(['LATCHKEY_GATEWAY_EXPIRED_SUB_CLOSE_DELAY'], file.expiredSubCloseDelay ?? 25),
    expiredCloseCode: expiredCloseCode === 3500 ? DisconnectCode.InvalidToken : DisconnectCode.ConnectionExpired,
    messageSizeLimit: sizeSetting ? parseInteger(sizeSetting, { min: 1024, max: 64 * 1024 * 1024 }) : (file.messageSizeLimit || 65_536),
    queueMaxSize: queueSetting ? parseInteger(queueSetting, { min: 1024 }) : (file.queueMaxSize || 1_048_576),
    clientChannelLimit: channelLimitSetting ? parseInteger(channelLimitSetting, { min: 0, max: 1_000_000 }) : (file.channelLimit ?? 128),
    organizationMembership: membershipSetting
      ? parseChoice(membershipSetting, ['database', 'claim'] as const)
      : token.jwksUrl === 'identity'
        ? 'database'
        : 'claim',
    membershipCacheTtl: seconds(['LATCHKEY_GATEWAY_MEMBERSHIP_CACHE_TTL'], 5, 0, 3600),
    insecure: flag(['LATCHKEY_GATEWAY_INSECURE'], file.insecure ?? false),
    allowAnonymousConnectWithoutToken: flag(['LATCHKEY_GATEWAY_ALLOW_ANONYMOUS'], file.allowAnonymousConnectWithoutToken ?? false),
    disallowAnonymousConnectionTokens: file.disallowAnonymousConnectionTokens ?? false,
    authRpc: flag(['LATCHKEY_GATEWAY_AUTH_RPC'], overrides.identityInProcess ?? false),
    authRpcLifetime: seconds(['LATCHKEY_GATEWAY_AUTH_RPC_LIFETIME'], 60, 1, 60),
    authRpcMaxConnections: authRpcMaxSetting ? parseInteger(authRpcMaxSetting, { min: 1, max: 1_000_000 }) : 1000,
    allowedOrigins: originsSetting ? parseList(originsSetting) : (file.allowedOrigins ?? []),
    token,
    subscriptionToken: hasKeys(subscriptionToken) ? subscriptionToken : null,
    channels: {
      privatePrefix: file.privatePrefix ?? '$',
      namespaceBoundary: file.namespaceBoundary ?? ':',
      userBoundary: file.userBoundary ?? '#',
      userSeparator: file.userSeparator ?? ',',
      maxLength: file.maxLength || 255,
      historyMetaTtl: file.historyMetaTtl ?? DEFAULT_HISTORY_META_TTL,
      withoutNamespace: file.withoutNamespace ?? namespaceDefaults(''),
      namespaces,
    },
    rpcProxy,
    proxies: {
      connect: proxyOf(file.proxies?.connect, 'client.proxy.connect.endpoint'),
      refresh: proxyOf(file.proxies?.refresh, 'client.proxy.refresh.endpoint'),
      subscribe: proxyOf(file.proxies?.subscribe, 'channel.proxy.subscribe.endpoint'),
      publish: proxyOf(file.proxies?.publish, 'channel.proxy.publish.endpoint'),
      subRefresh: proxyOf(file.proxies?.subRefresh, 'channel.proxy.sub_refresh.endpoint'),
    },
    rpcWithoutNamespaceProxy: file.rpcWithoutNamespaceProxy ?? rpcProxy !== null,
    rpcNamespaces: new Map((file.rpcNamespaces ?? []).map((namespace) => [namespace.name, namespace.proxyEnabled])),
    rpcNamespaceBoundary: file.rpcNamespaceBoundary ?? ':',
    apiKey: apiKeySetting?.value ?? file.apiKey ?? null,
    apiInsecure: file.apiInsecure ?? false,
    configFile: fileSetting?.value ?? null,
    unsupported: file.unsupported,
  };
}
