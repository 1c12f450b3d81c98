import { UnsafeInputError, type InputLocation, type UnsafeInputReason } from './errors.js';
import { DEFAULT_INPUT_LIMITS, type InputLimits } from './limits.js';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const LOWER_U = 0x75;

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

/**
 * Finds, in one pass over a JSON text and before it is parsed, what {@link parseJsonText} refuses:
 * nesting deeper than `maxDepth`, and strings or keys whose value would hold NUL (raw or `\u0000`) or an
 * unpaired surrogate (raw, or a `\uD800`–`\uDFFF` escape without its other half). It does not check the
 * syntax: `JSON.parse` does that afterwards. Refusing depth before parsing matters: V8 takes about a
 * second to parse 100,000 nested arrays.
 */
export function scanJsonText(text: string, maxDepth: number): UnsafeInputReason | undefined {
  let depth = 0;
  let inString = false;
  let highSurrogate = false;
  const length = text.length;
  for (let i = 0; i < length; i++) {
    let c = text.charCodeAt(i);
    if (!inString) {
      if (c === QUOTE) inString = true;
      else if (c === 0x7b || c === 0x5b) {
        if (++depth > maxDepth) return 'too_deep';
      } else if (c === 0x7d || c === 0x5d) depth--;
      continue;
    }
    if (c === BACKSLASH) {
      if (text.charCodeAt(i + 1) !== LOWER_U) {
        if (highSurrogate) return 'lone_surrogate';
        i++;
        continue;
      }
      c = hex4(text, i + 2);
      i += 5;
      if (c < 0) return undefined; // not JSON: JSON.parse says so
    } else if (c === QUOTE) {
      if (highSurrogate) return 'lone_surrogate';
      inString = false;
      continue;
    }
    // `c` is the next UTF-16 code unit of the string's value.
    if (highSurrogate) {
      if (c < 0xdc00 || c > 0xdfff) return 'lone_surrogate';
      highSurrogate = false;
    } else if (c < 0xd800) {
      if (c === 0) return 'nul';
    } else if (c <= 0xdbff) highSurrogate = true;
    else if (c <= 0xdfff) return 'lone_surrogate';
  }
  return undefined;
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
