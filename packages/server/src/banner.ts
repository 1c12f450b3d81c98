/** What the start banner suggests doing next. */
export interface NextStepsInput {
  /** Base URL clients use. */
  readonly baseUrl: string;
  /** The anon key, when the identity service runs. */
  readonly anonKey: string | null;
  /** Where the data lives: a directory or a redacted database URL. */
  readonly dataLocation: string;
  /** The admin socket, when one is open. */
  readonly adminSocket: string | null;
}

/** The CLI's default server URL: `latchkey login` needs no `--url` for it. */
const DEFAULT_URL = 'http://127.0.0.1:8000';

/** Quotes a value for a POSIX shell. */
function shellQuote(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * The last lines of the start banner: sign up with curl, log in with the CLI, and where the data
 * lives. Without the identity service only the data line remains.
 */
export function nextSteps(input: NextStepsInput): string[] {
  const lines: string[] = [];
  if (input.anonKey !== null) {
    const body = JSON.stringify({ email: 'you@example.com', password: 'choose-a-password' });
    lines.push(
      'next steps',
      `  sign up   curl -X POST ${shellQuote(`${input.baseUrl}/auth/v1/signup`)} -H ${shellQuote(`apikey: ${input.anonKey}`)} -H 'content-type: application/json' -d ${shellQuote(body)}`,
      `  log in    npx latchkey login${input.baseUrl === DEFAULT_URL ? '' : ` --url ${shellQuote(input.baseUrl)}`}`,
    );
  }
  lines.push(`data      ${input.dataLocation}${input.adminSocket ? ` (admin socket ${input.adminSocket}; \`npx latchkey status\`)` : ''}`);
  return lines;
}
