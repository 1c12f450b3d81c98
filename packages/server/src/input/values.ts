import type { UnsafeInputReason } from './errors.js';

/** `String.prototype.isWellFormed` (ES2024, in Node since 20): native, several times faster than a regular expression. */
type WellFormedString = string & { isWellFormed(): boolean };

/** Whether `value` has no unpaired surrogate. */
export function isWellFormed(value: string): boolean {
  return (value as WellFormedString).isWellFormed();
}

function stringProblem(value: string): UnsafeInputReason | undefined {
  if (value.indexOf('\0') !== -1) return 'nul';
  if (!isWellFormed(value)) return 'lone_surrogate';
  return undefined;
}

function itemProblem(item: unknown, depth: number, maxDepth: number): UnsafeInputReason | undefined {
  if (typeof item === 'string') return stringProblem(item);
  if (typeof item === 'number') return Number.isFinite(item) ? undefined : 'non_finite_number';
  if (typeof item === 'object' && item !== null) return containerProblem(item, depth + 1, maxDepth);
  return undefined;
}

function containerProblem(container: object, depth: number, maxDepth: number): UnsafeInputReason | undefined {
  if (depth > maxDepth) return 'too_deep';
  if (Array.isArray(container)) {
    for (let i = 0; i < container.length; i++) {
      const problem = itemProblem(container[i], depth, maxDepth);
      if (problem) return problem;
    }
    return undefined;
  }
  for (const key of Object.keys(container)) {
    const problem = stringProblem(key) ?? itemProblem((container as Record<string, unknown>)[key], depth, maxDepth);
    if (problem) return problem;
  }
  return undefined;
}

/**
 * Finds in an already parsed value (a JSON body from any parser, a query object, path parameters)
 * what no route may receive: strings or keys with NUL or an unpaired surrogate, nesting deeper than
 * `maxDepth` (the outermost container is level 1), and non-finite numbers (`1e400` parses to
 * `Infinity`). Recursion stops at `maxDepth`, so any value is safe to inspect.
 */
export function findUnsafeValue(value: unknown, maxDepth: number): UnsafeInputReason | undefined {
  return itemProblem(value, 0, maxDepth);
}
