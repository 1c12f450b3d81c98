/** A run of percent escapes, or a `%` that starts none. */
const ESCAPE_RUN = /(?:%[0-9A-Fa-f]{2})+|%/g;

/** U+FFFD, percent-encoded: stands in for escapes that are not UTF-8 so the request can be routed. */
const REPLACEMENT = '%EF%BF%BD';

/**
 * Returns `url` with the malformed escapes of its path replaced (a `%` without two hex digits, escapes
 * that do not decode as UTF-8, such as `%FF` or an encoded unpaired surrogate `%ED%A0%80`), or
 * `undefined` when its path decodes. The router refuses such paths before any scope sees them; repaired,
 * the request reaches its route, where the caller refuses it in the route's own error shape.
 */
export function repairPathEscapes(url: string): string | undefined {
  const query = url.indexOf('?');
  const path = query === -1 ? url : url.slice(0, query);
  if (path.indexOf('%') === -1) return undefined;
  try {
    decodeURIComponent(path);
    return undefined;
  } catch {
    const repaired = path.replace(ESCAPE_RUN, (run) => {
      if (run === '%') return '%25';
      try {
        decodeURIComponent(run);
        return run;
      } catch {
        return REPLACEMENT;
      }
    });
    return query === -1 ? repaired : repaired + url.slice(query);
  }
}
