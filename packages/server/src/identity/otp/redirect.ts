/** Turns an allow-list pattern (`*` any characters but `/` and `.`, `**` anything) into a test. */
function globTest(pattern: string): RegExp {
  let source = '';
  for (let index = 0; index < pattern.length; index += 1) {
    const char = pattern[index]!;
    if (char === '*' && pattern[index + 1] === '*') {
      source += '.*';
      index += 1;
    } else if (char === '*') {
      source += '[^/.]*';
    } else {
      source += char.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
    }
  }
  return new RegExp(`^${source}$`);
}

/**
 * Where a link may send the browser: `redirect_to` when it is on the site URL's origin or matches the
 * allow list, else the site URL (GoTrue's rule).
 */
export function allowedRedirect(requested: string | undefined, siteUrl: string, allowList: readonly string[]): string {
  if (!requested) return siteUrl;
  let url: URL;
  try {
    url = new URL(requested);
  } catch {
    return siteUrl;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:' && !allowList.some((entry) => entry.startsWith(`${url.protocol}//`))) return siteUrl;
  if (url.origin === new URL(siteUrl).origin) return requested;
  return allowList.some((pattern) => globTest(pattern).test(requested)) ? requested : siteUrl;
}
