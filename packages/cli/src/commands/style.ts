/** Colours for terminal output: only on a TTY, never when `NO_COLOR` is set (https://no-color.org). */
const CODES = { green: 32, red: 31, dim: 2, bold: 1 } as const;

export function useColor(stream: NodeJS.WriteStream = process.stdout, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '' && env.FORCE_COLOR !== '0') return true;
  return stream.isTTY === true && env.TERM !== 'dumb';
}

export function paint(text: string, style: keyof typeof CODES, stream: NodeJS.WriteStream = process.stdout): string {
  return useColor(stream) ? `\u001b[${CODES[style]}m${text}\u001b[0m` : text;
}
