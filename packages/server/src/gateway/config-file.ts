import { readFileSync } from 'node:fs';
import { ConfigError } from '../config/index.js';
import { BOOLEAN_NAMESPACE_OPTIONS, namespaceDefaults, type NamespaceOptions } from './channels/options.js';

/** Token verification settings as a Centrifugo `client.token` section gives them. */
export interface FileTokenSettings {
  hmac_secret_key?: string;
  rsa_public_key?: string;
  ecdsa_public_key?: string;
  jwks_public_endpoint?: string;
  audience?: string;
  issuer?: string;
  user_id_claim?: string;
}

/** A proxy section of a config file. */
export interface FileProxy {
  endpoint: string;
  timeout?: number;
  httpHeaders: string[];
  staticHeaders: Record<string, string>;
}

/** The supported subset of a Centrifugo v6 JSON config file, already validated. */
export interface FileConfig {
  token?: FileTokenSettings;
  subscriptionToken?: FileTokenSettings;
  allowedOrigins?: string[];
  allowAnonymousConnectWithoutToken?: boolean;
  disallowAnonymousConnectionTokens?: boolean;
  insecure?: boolean;
  pingInterval?: number;
  pongTimeout?: number;
  staleCloseDelay?: number;
  expiredCloseDelay?: number;
  expiredSubCloseDelay?: number;
  queueMaxSize?: number;
  /** `client.channel_limit` (v6), or `client_channel_limit` at the top level (v5). */
  channelLimit?: number;
  messageSizeLimit?: number;
  privatePrefix?: string;
  namespaceBoundary?: string;
  userBoundary?: string;
  userSeparator?: string;
  maxLength?: number;
  historyMetaTtl?: number;
  withoutNamespace?: NamespaceOptions;
  namespaces?: NamespaceOptions[];
  rpcProxy?: FileProxy;
  /** `client.proxy.connect` / `refresh` (when `enabled`) and `channel.proxy.subscribe` / `publish` / `sub_refresh`. */
  proxies?: Partial<Record<'connect' | 'refresh' | 'subscribe' | 'publish' | 'subRefresh', FileProxy>>;
  rpcWithoutNamespaceProxy?: boolean;
  rpcNamespaces?: { name: string; proxyEnabled: boolean }[];
  rpcNamespaceBoundary?: string;
  apiKey?: string;
  apiInsecure?: boolean;
  /** Dotted paths of keys present in the file that the gateway does not support. */
  unsupported: string[];
}

type Json = Record<string, unknown>;

const TOKEN_KEYS = ['hmac_secret_key', 'rsa_public_key', 'ecdsa_public_key', 'jwks_public_endpoint', 'audience', 'issuer', 'user_id_claim'] as const;

/**
 * Parses a Go duration as Centrifugo writes them (`"25s"`, `"1m30s"`, `"500ms"`) or a plain number of
 * seconds, into seconds.
 */
export function parseGoDuration(value: unknown, where: string, variable: string): number {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value;
  if (typeof value === 'string') {
    const text = value.trim();
    if (text === '0') return 0;
    const unitSeconds: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 0.001, us: 0.000001, µs: 0.000001, ns: 1e-9 };
    const pattern = /(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|ns)/gy;
    let total = 0;
    let consumed = 0;
    let match: RegExpExecArray | null;
    while ((match = pattern.exec(text)) !== null) {
      total += Number(match[1]) * (unitSeconds[match[2] ?? 's'] ?? 1);
      consumed = pattern.lastIndex;
    }
    if (consumed === text.length && consumed > 0) return total;
  }
  throw new ConfigError(variable, `${where} must be a duration like "25s" (got ${JSON.stringify(value)})`);
}

class Reader {
  readonly unsupported: string[] = [];
  constructor(readonly variable: string) {}

  object(value: unknown, where: string): Json {
    if (value === undefined || value === null) return {};
    if (typeof value !== 'object' || Array.isArray(value)) throw new ConfigError(this.variable, `${where} must be an object`);
    return value as Json;
  }
  string(value: unknown, where: string): string | undefined {
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string') throw new ConfigError(this.variable, `${where} must be a string`);
    return value;
  }
  boolean(value: unknown, where: string): boolean | undefined {
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'boolean') throw new ConfigError(this.variable, `${where} must be true or false`);
    return value;
  }
  integer(value: unknown, where: string): number | undefined {
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw new ConfigError(this.variable, `${where} must be a whole number`);
    return value;
  }
  duration(value: unknown, where: string): number | undefined {
    if (value === undefined || value === null) return undefined;
    return parseGoDuration(value, where, this.variable);
  }
  strings(value: unknown, where: string): string[] | undefined {
    if (value === undefined || value === null) return undefined;
    if (!Array.isArray(value) || value.some((item) => typeof item !== 'string')) throw new ConfigError(this.variable, `${where} must be a list of strings`);
    return value as string[];
  }
  /** Records every key of `section` not in `known` as unsupported. */
  rest(section: Json, where: string, known: readonly string[]): void {
    for (const key of Object.keys(section)) if (!known.includes(key)) this.unsupported.push(where ? `${where}.${key}` : key);
  }

  token(value: unknown, where: string): FileTokenSettings | undefined {
    const section = this.object(value, where);
    if (Object.keys(section).length === 0) return undefined;
    const token: FileTokenSettings = {};
    for (const key of TOKEN_KEYS) {
      const text = this.string(section[key], `${where}.${key}`);
      if (text !== undefined && text !== '') token[key] = text;
    }
    this.rest(section, where, [...TOKEN_KEYS, 'enabled']);
    return token;
  }

  /** A proxy section (`endpoint`, `timeout`, `http_headers`, `static_headers`; `enabled` where `enabledKey`). */
  proxy(value: unknown, where: string, enabledKey = false): FileProxy | undefined {
    const section = this.object(value, where);
    this.rest(section, where, ['endpoint', 'timeout', 'http_headers', 'static_headers', ...(enabledKey ? ['enabled'] : [])]);
    if (enabledKey && this.boolean(section.enabled, `${where}.enabled`) !== true) return undefined;
    const endpoint = this.string(section.endpoint, `${where}.endpoint`);
    if (!endpoint) {
      if (enabledKey) throw new ConfigError(this.variable, `${where}.endpoint is required`);
      return undefined;
    }
    const staticHeaders = this.object(section.static_headers, `${where}.static_headers`);
    const proxy: FileProxy = {
      endpoint,
      httpHeaders: this.strings(section.http_headers, `${where}.http_headers`) ?? [],
      staticHeaders: Object.fromEntries(Object.entries(staticHeaders).map(([key, item]) => [key, this.string(item, `${where}.static_headers.${key}`) ?? ''])),
    };
    const timeout = this.duration(section.timeout, `${where}.timeout`);
    if (timeout !== undefined) proxy.timeout = timeout;
    return proxy;
  }

  namespace(value: unknown, where: string, name: string): NamespaceOptions {
    const section = this.object(value, where);
    const options: Record<string, unknown> = { ...namespaceDefaults(name) };
    for (const key of BOOLEAN_NAMESPACE_OPTIONS) {
      const flag = this.boolean(section[key], `${where}.${key}`);
      if (flag !== undefined) options[key] = flag;
    }
    const regex = this.string(section.channel_regex, `${where}.channel_regex`);
    if (regex) {
      try {
        options.channel_regex = new RegExp(regex);
      } catch {
        throw new ConfigError(this.variable, `${where}.channel_regex is not a valid regular expression`);
      }
    }
    const size = this.integer(section.history_size, `${where}.history_size`);
    if (size !== undefined) options.history_size = size;
    const ttl = this.duration(section.history_ttl, `${where}.history_ttl`);
    if (ttl !== undefined) options.history_ttl = ttl;
    const metaTtl = this.duration(section.history_meta_ttl, `${where}.history_meta_ttl`);
    if (metaTtl !== undefined) options.history_meta_ttl = metaTtl;
    if ((options.history_size === 0) !== (options.history_ttl === 0)) throw new ConfigError(this.variable, `${where}: both history_size and history_ttl are required for history`);
    if (options.force_recovery === true && options.history_size === 0) throw new ConfigError(this.variable, `${where}: both history_size and history_ttl are required for recovery`);
    const deltaTypes = this.strings(section.allowed_delta_types, `${where}.allowed_delta_types`);
    if (deltaTypes !== undefined) {
      const unknown = deltaTypes.find((type) => type !== 'fossil');
      if (unknown !== undefined) throw new ConfigError(this.variable, `${where}.allowed_delta_types: unknown delta type ${JSON.stringify(unknown)}`);
      options.allowed_delta_types = deltaTypes;
    }
    const known: string[] = [...BOOLEAN_NAMESPACE_OPTIONS, 'channel_regex', 'name', 'history_size', 'history_ttl', 'history_meta_ttl', 'allowed_delta_types'];
    // Stream recovery is the only mode: saying so explicitly is fine.
    const mode = this.string(section.force_recovery_mode, `${where}.force_recovery_mode`);
    if (mode === undefined || mode === '' || mode === 'stream') known.push('force_recovery_mode');
    this.rest(section, where, known);
    return options as unknown as NamespaceOptions;
  }
}

/**
 * Reads the supported subset of a Centrifugo v6 JSON config file. Unsupported keys are listed in
 * `unsupported` (never silently dropped); malformed values throw {@link ConfigError} naming `variable`.
 */
export function parseCentrifugoConfig(document: unknown, variable: string): FileConfig {
  const r = new Reader(variable);
  const root = r.object(document, 'config');
  const config: FileConfig = { unsupported: r.unsupported };
  /** Sets an optional key only when the file gives it a value, so absent keys stay absent. */
  const set = <K extends keyof FileConfig>(key: K, value: Exclude<FileConfig[K], undefined> | undefined): void => {
    if (value !== undefined) config[key] = value;
  };

  const client = r.object(root.client, 'client');
  set('token', r.token(client.token, 'client.token'));
  const subscriptionToken = r.object(client.subscription_token, 'client.subscription_token');
  if (r.boolean(subscriptionToken.enabled, 'client.subscription_token.enabled')) set('subscriptionToken', r.token(subscriptionToken, 'client.subscription_token'));
  else r.rest(subscriptionToken, 'client.subscription_token', ['enabled']);
  set('allowedOrigins', r.strings(client.allowed_origins, 'client.allowed_origins'));
  set('allowAnonymousConnectWithoutToken', r.boolean(client.allow_anonymous_connect_without_token, 'client.allow_anonymous_connect_without_token'));
  set('disallowAnonymousConnectionTokens', r.boolean(client.disallow_anonymous_connection_tokens, 'client.disallow_anonymous_connection_tokens'));
  set('insecure', r.boolean(client.insecure, 'client.insecure'));
  set('pingInterval', r.duration(client.ping_interval, 'client.ping_interval'));
  set('pongTimeout', r.duration(client.pong_timeout, 'client.pong_timeout'));
  set('staleCloseDelay', r.duration(client.stale_close_delay, 'client.stale_close_delay'));
  set('expiredCloseDelay', r.duration(client.expired_close_delay, 'client.expired_close_delay'));
  set('expiredSubCloseDelay', r.duration(client.expired_sub_close_delay, 'client.expired_sub_close_delay'));
  set('queueMaxSize', r.integer(client.queue_max_size, 'client.queue_max_size') ?? r.integer(root.client_queue_max_size, 'client_queue_max_size'));
  set('channelLimit', r.integer(client.channel_limit, 'client.channel_limit') ?? r.integer(root.client_channel_limit, 'client_channel_limit'));
  const proxies: NonNullable<FileConfig['proxies']> = {};
  const clientProxy = r.object(client.proxy, 'client.proxy');
  const connectProxy = r.proxy(clientProxy.connect, 'client.proxy.connect', true);
  if (connectProxy) proxies.connect = connectProxy;
  const refreshProxy = r.proxy(clientProxy.refresh, 'client.proxy.refresh', true);
  if (refreshProxy) proxies.refresh = refreshProxy;
  r.rest(clientProxy, 'client.proxy', ['connect', 'refresh']);
  r.rest(client, 'client', [
    'token', 'subscription_token', 'allowed_origins', 'allow_anonymous_connect_without_token', 'disallow_anonymous_connection_tokens',
    'insecure', 'ping_interval', 'pong_timeout', 'stale_close_delay', 'expired_close_delay', 'expired_sub_close_delay', 'queue_max_size',
    'channel_limit', 'proxy',
  ]);

  const channel = r.object(root.channel, 'channel');
  set('privatePrefix', r.string(channel.private_prefix, 'channel.private_prefix'));
  set('namespaceBoundary', r.string(channel.namespace_boundary, 'channel.namespace_boundary'));
  set('userBoundary', r.string(channel.user_boundary, 'channel.user_boundary'));
  set('userSeparator', r.string(channel.user_separator, 'channel.user_separator'));
  set('maxLength', r.integer(channel.max_length, 'channel.max_length') ?? r.integer(root.channel_max_length, 'channel_max_length'));
  set('historyMetaTtl', r.duration(channel.history_meta_ttl, 'channel.history_meta_ttl'));
  const channelProxy = r.object(channel.proxy, 'channel.proxy');
  for (const [key, name] of [['subscribe', 'subscribe'], ['publish', 'publish'], ['sub_refresh', 'subRefresh']] as const) {
    const proxy = r.proxy(channelProxy[key], `channel.proxy.${key}`);
    if (proxy) proxies[name] = proxy;
  }
  r.rest(channelProxy, 'channel.proxy', ['subscribe', 'publish', 'sub_refresh']);
  if (Object.keys(proxies).length > 0) config.proxies = proxies;
  if (channel.without_namespace !== undefined) config.withoutNamespace = r.namespace(channel.without_namespace, 'channel.without_namespace', '');
  if (channel.namespaces !== undefined) {
    if (!Array.isArray(channel.namespaces)) throw new ConfigError(variable, 'channel.namespaces must be a list');
    config.namespaces = channel.namespaces.map((item: unknown, index) => {
      const name = r.string(r.object(item, `channel.namespaces[${index}]`).name, `channel.namespaces[${index}].name`);
      if (!name || !/^[-a-zA-Z0-9_.]{2,}$/.test(name)) throw new ConfigError(variable, `channel.namespaces[${index}].name must match ^[-a-zA-Z0-9_.]{2,}$`);
      return r.namespace(item, `channel.namespaces[${name}]`, name);
    });
  }
  r.rest(channel, 'channel', ['private_prefix', 'namespace_boundary', 'user_boundary', 'user_separator', 'max_length', 'history_meta_ttl', 'proxy', 'without_namespace', 'namespaces']);

  const rpc = r.object(root.rpc, 'rpc');
  set('rpcProxy', r.proxy(rpc.proxy, 'rpc.proxy'));
  const rpcWithout = r.object(rpc.without_namespace, 'rpc.without_namespace');
  set('rpcWithoutNamespaceProxy', r.boolean(rpcWithout.proxy_enabled, 'rpc.without_namespace.proxy_enabled'));
  r.rest(rpcWithout, 'rpc.without_namespace', ['proxy_enabled']);
  if (rpc.namespaces !== undefined) {
    if (!Array.isArray(rpc.namespaces)) throw new ConfigError(variable, 'rpc.namespaces must be a list');
    config.rpcNamespaces = rpc.namespaces.map((item: unknown, index) => {
      const section = r.object(item, `rpc.namespaces[${index}]`);
      const name = r.string(section.name, `rpc.namespaces[${index}].name`);
      if (!name) throw new ConfigError(variable, `rpc.namespaces[${index}].name is required`);
      r.rest(section, `rpc.namespaces[${name}]`, ['name', 'proxy_enabled']);
      return { name, proxyEnabled: r.boolean(section.proxy_enabled, `rpc.namespaces[${name}].proxy_enabled`) ?? false };
    });
  }
  set('rpcNamespaceBoundary', r.string(rpc.namespace_boundary, 'rpc.namespace_boundary'));
  r.rest(rpc, 'rpc', ['proxy', 'without_namespace', 'namespaces', 'namespace_boundary']);

  const httpApi = r.object(root.http_api, 'http_api');
  set('apiKey', r.string(httpApi.key, 'http_api.key'));
  set('apiInsecure', r.boolean(httpApi.insecure, 'http_api.insecure'));
  r.rest(httpApi, 'http_api', ['key', 'insecure']);

  const websocket = r.object(root.websocket, 'websocket');
  set('messageSizeLimit', r.integer(websocket.message_size_limit, 'websocket.message_size_limit'));
  r.rest(websocket, 'websocket', ['message_size_limit']);

  r.rest(root, '', ['client', 'channel', 'rpc', 'http_api', 'websocket', 'client_channel_limit', 'client_queue_max_size', 'channel_max_length']);
  return config;
}

/** Reads and parses a Centrifugo JSON config file; errors name `variable` and never echo secrets. */
export function loadCentrifugoConfigFile(file: string, variable: string): FileConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new ConfigError(variable, `cannot read ${file}`);
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    throw new ConfigError(variable, `${file} is not valid JSON`);
  }
  return parseCentrifugoConfig(document, variable);
}
