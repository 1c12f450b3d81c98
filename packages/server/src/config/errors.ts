/**
 * Raised when a setting is missing or malformed. The message names the variable so the
 * operator can fix it from one line of output.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly code = 'ERR_CONFIG_INVALID';
  /** The environment variable or flag that holds the bad value. */
  readonly variable: string;

  constructor(variable: string, problem: string) {
    super(`${variable}: ${problem}`);
    this.variable = variable;
  }
}
