/**
 * Where an emailed link may send the browser (`redirect_to`, supabase-js `emailRedirectTo` /
 * `redirectTo`). The requested URL is parsed with the WHATWG URL parser — the parser browsers use — and
 * what is matched is what the browser will follow:
 *  - the site URL matches on exact scheme, host and port;
 *  - an allow-list entry (`LATCHKEY_URI_ALLOW_LIST`) matches on exact scheme and port, its host glob
 *    label by label against the parsed host (`*` within one label), and its path glob against the
 *    parsed path and query (`*` within one segment, `**` across segments); the fragment is not matched;
 *  - userinfo, backslashes, percent-encoding in the authority, control characters or spaces, and hosts
 *    that are not plain DNS names are refused; an IP host matches only an entry naming it exactly.
 * Anything refused falls back to the site URL, as GoTrue does.
 */

/** One compiled allow-list entry. */
export interface AllowedRedirect {
  /** The entry as configured. */
  readonly source: string;
  readonly protocol: string;
  readonly port: string;
  /** One test per host label; `null` for an entry without a host glob, whose host must match exactly. */
  readonly labels: readonly RegExp[] | null;
  /** The host as written, lower-cased (the exact host when `labels` is `null`). */
  readonly host: string;
  readonly path: RegExp;
}

const SCHEME_AND_AUTHORITY = /^([A-Za-z][A-Za-z0-9+.-]*:)\/\/([^/?#]*)/;
const DNS_LABEL = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;
// eslint-disable-next-line no-control-regex -- control characters are exactly what this refuses
const FORBIDDEN_ANYWHERE = /[\s\\\u0000-\u001f\u007f]/;
const IPV4 = /^\d{1,3}(?:\.\d{1,3}){3}$/;

function escape(text: string): string {
  return text.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
}

/** A path glob: `**` anything, `*` anything but `/`; an empty path means `/`. */
function pathGlob(pattern: string): RegExp {
  const glob = pattern === '' ? '/' : pattern;
  let source = '';
  for (let index = 0; index < glob.length; index += 1) {
    if (glob[index] === '*' && glob[index + 1] === '*') {
      source += '.*';
      index += 1;
    } else if (glob[index] === '*') {
      source += '[^/]*';
    } else {
      source += escape(glob[index]!);
    }
  }
  return new RegExp(`^${source}$`);
}

/** A host label glob: `*` any run of label characters (at least one in all). */
function labelGlob(label: string): RegExp {
  if (!/^[a-z0-9*-]+$/.test(label) || label.includes('**')) throw new TypeError(`host label "${label}" may hold letters, digits, "-" and single "*" only`);
  return new RegExp(`^${label.split('*').map(escape).join('[a-z0-9-]*')}$`);
}

function isIpHost(hostname: string): boolean {
  return hostname.startsWith('[') || IPV4.test(hostname);
}

/**
 * Parses `raw` as a browser would, or `null` when it carries anything a redirect target must not:
 * userinfo, backslashes, percent-encoding in the authority, control characters or spaces.
 */
function parseTarget(raw: string): URL | null {
  if (FORBIDDEN_ANYWHERE.test(raw)) return null;
  const authority = SCHEME_AND_AUTHORITY.exec(raw);
  if (!authority || authority[2]!.includes('@') || authority[2]!.includes('%')) return null;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return null;
  }
  if (url.username !== '' || url.password !== '') return null;
  return url;
}

/** Whether the parsed host is a plain DNS name (every label letters, digits and inner hyphens). */
function isDnsName(hostname: string): boolean {
  return hostname !== '' && hostname.split('.').every((label) => DNS_LABEL.test(label));
}

/**
 * Compiles allow-list entries such as `https://*.example.com/**`, `http://127.0.0.1:3000/**` or
 * `myapp://callback`. Throws `TypeError` naming the first entry it cannot read.
 */
export function compileAllowList(entries: readonly string[]): AllowedRedirect[] {
  return entries.map((entry) => {
    const fail = (reason: string) => new TypeError(`allow-list entry "${entry}": ${reason}`);
    if (FORBIDDEN_ANYWHERE.test(entry)) throw fail('spaces, control characters and backslashes are not allowed');
    const authority = SCHEME_AND_AUTHORITY.exec(entry);
    if (!authority) throw fail('must be an absolute URL such as https://app.example.com/**');
    const [whole, protocol, hostAndPort] = authority as unknown as [string, string, string];
    if (hostAndPort.includes('@') || hostAndPort.includes('%')) throw fail('userinfo and percent-encoding are not allowed');
    const portMatch = /^(.*?)(?::(\d{1,5}))?$/.exec(hostAndPort)!;
    const hostPattern = portMatch[1]!.toLowerCase();
    const rest = entry.slice(whole.length);
    if (/[#]/.test(rest)) throw fail('a fragment is not matched; leave it out');
    let parsed: URL;
    try {
      parsed = new URL(`${protocol}//${hostPattern.replace(/\*/g, 'x')}${portMatch[2] ? `:${portMatch[2]}` : ''}/`);
    } catch {
      throw fail('host or port is not valid');
    }
    const exact = !hostPattern.includes('*');
    if (!exact && !hostPattern.split('.').every((label) => /^[a-z0-9*-]+$/.test(label))) throw fail('a host glob must be DNS labels');
    let labels: RegExp[] | null = null;
    try {
      if (!exact) labels = hostPattern.split('.').map(labelGlob);
    } catch (error) {
      throw fail((error as Error).message);
    }
    return {
      source: entry,
      protocol: parsed.protocol,
      port: parsed.port,
      labels,
      host: exact ? parsed.hostname : hostPattern,
      path: pathGlob(rest),
    };
  });
}

function pathAndQuery(url: URL): string {
  const path = url.pathname === '' ? '/' : url.pathname;
  return `${path}${url.search}`;
}

function matches(url: URL, entry: AllowedRedirect): boolean {
  if (url.protocol !== entry.protocol || url.port !== entry.port) return false;
  if (entry.labels === null) {
    if (url.hostname !== entry.host) return false;
  } else {
    if (isIpHost(url.hostname) || !isDnsName(url.hostname)) return false;
    const labels = url.hostname.split('.');
    if (labels.length !== entry.labels.length || !labels.every((label, index) => entry.labels![index]!.test(label))) return false;
  }
  return entry.path.test(pathAndQuery(url));
}

/**
 * The target a link may redirect to: the parsed `requested` URL (serialized as the WHATWG parser writes
 * it) when it is on the site URL's scheme, host and port or matches an allow-list entry, else `siteUrl`.
 *
 * @example
 * ```ts
 * redirectTarget('https://evil%2Eexample%2Enet\\.example.com/', 'https://app.example.com', compileAllowList(['https://*.example.com/**']));
 * // → 'https://app.example.com'
 * ```
 */
export function redirectTarget(requested: string | undefined, siteUrl: string, allowList: readonly AllowedRedirect[]): string {
  if (!requested) return siteUrl;
  const url = parseTarget(requested);
  if (!url) return siteUrl;
  const site = new URL(siteUrl);
  const special = url.protocol === 'http:' || url.protocol === 'https:';
  if (special && !isIpHost(url.hostname) && !isDnsName(url.hostname)) return siteUrl;
  if (url.protocol === site.protocol && url.hostname === site.hostname && url.port === site.port) return url.href;
  return allowList.some((entry) => matches(url, entry)) ? url.href : siteUrl;
}
