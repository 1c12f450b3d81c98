import { ConfigError, parseList, type RawSetting } from '../../config/index.js';

/** Origins configured in `LATCHKEY_CORS_ALLOWED_ORIGINS`. */
export interface CorsOrigins {
  /** `*` was listed: every other origin may call without credentials. */
  readonly any: boolean;
  /** Exact origins (`https://app.example.com`) allowed with credentials. */
  readonly origins: ReadonlySet<string>;
}

/**
 * What a browser origin may do: `credentials` — the origin is echoed with
 * `Access-Control-Allow-Credentials: true`; `public` — `Access-Control-Allow-Origin: *`, no credentials;
 * `null` — no CORS headers, so the browser refuses to hand the answer to the page.
 */
export type CorsGrant = 'credentials' | 'public' | null;

/** Decides the grant for a request's `Origin`. */
export type CorsPolicy = (origin: string) => CorsGrant;

/** Parses `*` and `scheme://host[:port]` entries; anything else (a path, a wildcard host) is a ConfigError. */
export function parseCorsOrigins(setting: RawSetting): CorsOrigins {
  let any = false;
  const origins = new Set<string>();
  for (const entry of parseList(setting)) {
    if (entry === '*') {
      any = true;
      continue;
    }
    let url: URL | null = null;
    try {
      url = new URL(entry);
    } catch {
      url = null;
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.origin !== entry.replace(/\/$/, '').toLowerCase()) {
      throw new ConfigError(setting.name, `must list origins like https://app.example.com, or * (got ${JSON.stringify(entry)})`);
    }
    origins.add(url.origin);
  }
  return { any, origins };
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

function originOf(value: string): string | null {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.origin : null;
  } catch {
    return null;
  }
}

/**
 * The policy of the `/auth/v1` scope. With `configured` origins, exactly those get credentialed CORS
 * (and every other origin `*` when `*` is listed). Without configuration: the public URL's origin, the
 * site URL's origin, and — when the public URL is on loopback (local development) — every http(s)
 * origin on a loopback host, whatever its port.
 */
export function corsPolicy(configured: CorsOrigins | null, publicUrl: () => string, siteUrl: string | null): CorsPolicy {
  if (configured) {
    return (origin) => (configured.origins.has(origin) ? 'credentials' : configured.any ? 'public' : null);
  }
  const site = siteUrl ? originOf(siteUrl) : null;
  return (origin) => {
    const own = originOf(publicUrl());
    if (origin === own || origin === site) return 'credentials';
    if (own && LOOPBACK_HOSTS.has(new URL(own).hostname)) {
      const parsed = originOf(origin);
      if (parsed === origin && LOOPBACK_HOSTS.has(new URL(origin).hostname)) return 'credentials';
    }
    return null;
  };
}
