/**
 * Limits applied to every JSON body and query string the server accepts.
 */
export interface InputLimits {
  /**
   * Deepest nesting of arrays and objects in a JSON body, counting the outermost container as 1.
   * Default {@link DEFAULT_MAX_JSON_DEPTH} (64).
   */
  readonly maxDepth: number;
}

/** Default deepest JSON nesting: 64 levels (GoTrue's metadata and Centrifugo's payloads stay far below). */
export const DEFAULT_MAX_JSON_DEPTH = 64;

/** Default largest HTTP request body: 1 MiB (the gateway server API allows 10 MiB, as documented). */
export const DEFAULT_BODY_LIMIT = 1024 * 1024;

export const DEFAULT_INPUT_LIMITS: InputLimits = { maxDepth: DEFAULT_MAX_JSON_DEPTH };
