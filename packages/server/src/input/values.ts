import type { UnsafeInputReason } from './errors.js';

/** An unpaired surrogate: with the `u` flag, a well-formed pair is one code point and does not match. */
const LONE_SURROGATE = /\p{Cs}/u;

function stringProblem(value: string): UnsafeInputReason | undefined {
  if (value.indexOf('\0') !== -1) return 'nul';
  if (LONE_SURROGATE.test(value)) return 'lone_surrogate';
  return undefined;
}

/**
 * Finds in an already parsed value (a JSON body from any parser, a query object, path parameters)
 * what no route may receive: strings or keys with NUL or an unpaired surrogate, nesting deeper than
 * `maxDepth` (the outermost container is level 1), and non-finite numbers (`1e400` parses to
 * `Infinity`). Iterative, so any depth is safe to inspect.
 */
export function findUnsafeValue(value: unknown, maxDepth: number): UnsafeInputReason | undefined {
  if (typeof value === 'string') return stringProblem(value);
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : 'non_finite_number';
  if (typeof value !== 'object' || value === null) return undefined;
  const pending: object[] = [value];
  const depths: number[] = [1];
  while (pending.length > 0) {
    const container = pending.pop()!;
    const depth = depths.pop()!;
    if (depth > maxDepth) return 'too_deep';
    const isArray = Array.isArray(container);
    for (const key in container) {
      if (!isArray) {
        const problem = stringProblem(key);
        if (problem) return problem;
      }
      const item = (container as Record<string, unknown>)[key];
      if (typeof item === 'string') {
        const problem = stringProblem(item);
        if (problem) return problem;
      } else if (typeof item === 'number') {
        if (!Number.isFinite(item)) return 'non_finite_number';
      } else if (typeof item === 'object' && item !== null) {
        pending.push(item);
        depths.push(depth + 1);
      }
    }
  }
  return undefined;
}
