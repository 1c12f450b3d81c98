/**
 * Terminal prompts for `latchkey login`: a visible one for the e-mail and a hidden one for the password.
 * Both write to stderr, so stdout stays clean for `--json`.
 *
 * @module
 */
import readline from 'node:readline';
import { CliError, ExitCode } from '../exit-codes.js';

type Input = NodeJS.ReadStream;
type Output = NodeJS.WriteStream;

/** Reads one visible line. */
export async function promptLine(question: string, input: Input = process.stdin, output: Output = process.stderr): Promise<string> {
  const rl = readline.createInterface({ input, output, terminal: input.isTTY === true });
  try {
    return await new Promise<string>((resolve, reject) => {
      rl.once('SIGINT', () => reject(new CliError('interrupted', ExitCode.Interrupted)));
      // After an answer the promise is settled and this rejection is ignored. (Removing readline's own
      // 'close' listeners would leave it attached to the terminal, echoing later keystrokes.)
      rl.once('close', () => reject(new CliError('no input', ExitCode.Usage)));
      rl.question(question, (answer) => resolve(answer.trim()));
    });
  } finally {
    rl.close();
  }
}

/**
 * Reads one line without echoing it: the terminal is put in raw mode; Backspace edits, Ctrl-U clears,
 * Enter ends, Ctrl-C aborts with exit code 130, Ctrl-D on an empty line aborts.
 */
export function promptHidden(question: string, input: Input = process.stdin, output: Output = process.stderr): Promise<string> {
  if (!input.isTTY || typeof input.setRawMode !== 'function') {
    return Promise.reject(new CliError('cannot prompt for a password without a terminal; use --password-stdin', ExitCode.Usage));
  }
  // Raw mode first: keys typed as soon as the prompt shows are then never echoed by the terminal.
  const wasRaw = input.isRaw;
  input.setRawMode(true);
  input.resume();
  output.write(question);
  return new Promise<string>((resolve, reject) => {
    let value = '';
    const finish = (error?: Error) => {
      input.removeListener('data', onData);
      input.setRawMode(wasRaw);
      input.pause();
      output.write('\n');
      if (error) reject(error);
      else resolve(value);
    };
    const onData = (chunk: Buffer) => {
      for (const char of chunk.toString('utf8')) {
        switch (char) {
          case '\r':
          case '\n':
            finish();
            return;
          case '\u0003': // Ctrl-C
            finish(new CliError('interrupted', ExitCode.Interrupted));
            return;
          case '\u0004': // Ctrl-D
            if (value === '') {
              finish(new CliError('no password given', ExitCode.Usage));
              return;
            }
            break;
          case '\u0015': // Ctrl-U
            value = '';
            break;
          case '\u007f':
          case '\b':
            value = [...value].slice(0, -1).join('');
            break;
          default:
            if (char >= ' ') value += char;
        }
      }
    };
    input.on('data', onData);
  });
}

/** Reads all of stdin and returns its first line (for `--password-stdin`). */
export async function readFirstLine(input: Input = process.stdin): Promise<string> {
  let text = '';
  for await (const chunk of input as AsyncIterable<Buffer | string>) text += chunk.toString();
  return text.split(/\r?\n/)[0] ?? '';
}

/** Where `login` and `signup` take the e-mail and password from. */
export interface CredentialFlags {
  readonly email?: string;
  readonly password?: string;
  readonly passwordStdin?: boolean;
}

/**
 * The e-mail (`--email`, `LATCHKEY_EMAIL`, else a prompt) and password (`--password-stdin`, `--password`,
 * `LATCHKEY_PASSWORD`, else a hidden prompt; `confirm` asks twice at a prompt). Without a terminal a
 * missing value is a usage error.
 */
export async function readCredentials(flags: CredentialFlags, env: NodeJS.ProcessEnv, options: { confirm?: boolean } = {}): Promise<{ email: string; password: string }> {
  const email = flags.email ?? env.LATCHKEY_EMAIL ?? (process.stdin.isTTY ? await promptLine('Email: ') : undefined);
  if (!email) throw new CliError('no e-mail given: pass --email or run in a terminal', ExitCode.Usage);
  let password = flags.passwordStdin ? await readFirstLine() : (flags.password ?? env.LATCHKEY_PASSWORD);
  if (password === undefined) {
    password = await promptHidden('Password: ');
    if (options.confirm && password !== (await promptHidden('Password (again): '))) throw new CliError('the passwords differ', ExitCode.Usage);
  }
  if (!password) throw new CliError('no password given', ExitCode.Usage);
  return { email, password };
}
