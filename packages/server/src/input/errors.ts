/** Why input was refused before reaching a route. */
export type UnsafeInputReason = 'nul' | 'lone_surrogate' | 'too_deep' | 'non_finite_number' | 'malformed_escape';

/** Where the refused input was. */
export type InputLocation = 'path' | 'params' | 'query' | 'body' | 'credentials';

const DESCRIPTIONS: Record<UnsafeInputReason, string> = {
  nul: 'must not contain NUL (U+0000)',
  lone_surrogate: 'must not contain unpaired surrogates (invalid Unicode)',
  too_deep: 'is nested too deeply',
  non_finite_number: 'holds a number out of range',
  malformed_escape: 'holds a percent escape that is not UTF-8',
};

/**
 * Input refused because no text column, JSON column or encoder could take it: a NUL character or an
 * unpaired surrogate in a string (or key), JSON nested deeper than the limit, a number literal too
 * large for a double, or a path whose percent escapes are not UTF-8. HTTP status 400; each scope's error handler writes it in the scope's error shape
 * (`validation_failed` under `/auth/v1`, `invalid_request` under `/api/v1`, code 107 on the gateway
 * server API).
 */
export class UnsafeInputError extends Error {
  override readonly name = 'UnsafeInputError';
  readonly code = 'ERR_UNSAFE_INPUT';
  readonly statusCode = 400;
  readonly reason: UnsafeInputReason;
  readonly location: InputLocation;

  /** `maxDepth` is the depth limit in force, named in the message of a `too_deep` refusal. */
  constructor(location: InputLocation, reason: UnsafeInputReason, maxDepth: number) {
    super(`${location} ${DESCRIPTIONS[reason]}${reason === 'too_deep' ? ` (more than ${maxDepth} levels)` : ''}`);
    this.location = location;
    this.reason = reason;
  }
}
