import { UnsafeInputError, type InputLocation, type UnsafeInputReason } from './errors.js';
import { DEFAULT_INPUT_LIMITS, type InputLimits } from './limits.js';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const LOWER_U = 0x75;

import { isWellFormed } from './values.js';

/** The value of four hex digits at `at`, or -1. */
function hex4(text: string, at: number): number {
  let value = 0;
  for (let i = at; i < at + 4; i++) {
    const c = text.charCodeAt(i);
    const digit = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : c >= 0x41 && c <= 0x46 ? c - 0x37 : -1;
    if (digit < 0) return -1;
    value = value * 16 + digit;
  }
  return value;
}

/** Whether a `\uXXXX` escape of a low surrogate starts at `at`. */
function lowSurrogateEscapeAt(text: string, at: number): boolean {
  if (text.charCodeAt(at) !== BACKSLASH || text.charCodeAt(at + 1) !== LOWER_U) return false;
  const unit = hex4(text, at + 2);
  return unit >= 0xdc00 && unit <= 0xdfff;
}

/**
 * Finds, before a JSON text is parsed, what {@link parseJsonText} refuses: nesting deeper than
 * `maxDepth` (the outermost container is level 1), and strings or keys that would hold NUL (`\u0000`) or
 * an unpaired surrogate (a `\uD800`–`\uDFFF` escape without its other half, or one written raw). Raw
 * NUL needs no check: `JSON.parse` refuses raw control characters. It does not check the syntax:
 * `JSON.parse` does that afterwards. Refusing depth before parsing matters: V8 takes about a second to
 * parse 500,000 nested arrays. One pass; the runs of plain characters in strings are skipped natively.
 */
export function scanJsonText(text: string, maxDepth: number): UnsafeInputReason | undefined {
  let depth = 0;
  const length = text.length;
  // The next backslash at or after where we are: searched again only once passed, so the whole scan
  // reads the text a bounded number of times.
  let backslash = -2;
  for (let i = 0; i < length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      // In a string: jump to its closing quote, stopping at each escape on the way.
      let from = i + 1;
      for (;;) {
        if (backslash !== -1 && backslash < from) backslash = text.indexOf('\\', from);
        const quote = text.indexOf('"', from);
        const end = quote === -1 ? length : quote;
        if (backslash === -1 || backslash > end) {
          i = end;
          break;
        }
        const escape = backslash;
        if (text.charCodeAt(escape + 1) !== LOWER_U) {
          from = escape + 2; // `\"`, `\\` and the other one-letter escapes
          continue;
        }
        const unit = hex4(text, escape + 2);
        from = escape + 6;
        if (unit === 0) return 'nul';
        if (unit >= 0xd800 && unit <= 0xdbff) {
          if (!lowSurrogateEscapeAt(text, from)) return 'lone_surrogate';
          from += 6;
        } else if (unit >= 0xdc00 && unit <= 0xdfff) return 'lone_surrogate';
      }
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > maxDepth) return 'too_deep';
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return isWellFormed(text) ? undefined : 'lone_surrogate';
}

/**
 * Parses JSON text that passes {@link scanJsonText}. Throws {@link UnsafeInputError} for refused input
 * and `SyntaxError` (from `JSON.parse`) for text that is not JSON.
 */
export function parseJsonText(text: string, location: InputLocation = 'body', limits: InputLimits = DEFAULT_INPUT_LIMITS): unknown {
  const reason = scanJsonText(text, limits.maxDepth);
  if (reason) throw new UnsafeInputError(location, reason, limits.maxDepth);
  return JSON.parse(text) as unknown;
}
