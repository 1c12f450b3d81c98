import fs from 'node:fs/promises';
import { CliError, ExitCode } from '../exit-codes.js';
import { openUserContext, printJson, runUserCommand, type UserFlags } from './user-context.js';

export interface CallFlags extends UserFlags {
  readonly data?: string;
  readonly header?: readonly string[];
  readonly include?: boolean;
}

const METHOD = /^[A-Za-z]+$/;

async function readData(data: string): Promise<string> {
  if (data === '@-') {
    let text = '';
    for await (const chunk of process.stdin as AsyncIterable<Buffer | string>) text += chunk.toString();
    return text;
  }
  if (data.startsWith('@')) return fs.readFile(data.slice(1), 'utf8');
  return data;
}

/**
 * `latchkey call <METHOD> <path>`: sends one request with the session's token (refreshed when needed,
 * retried once after a 401) and prints the response body. `-d` takes a body (`@file`, `@-` for stdin;
 * JSON bodies get `content-type: application/json`), `-H 'name: value'` adds headers, `-i` prints the
 * status line and headers first. Only the server's own URLs are accepted. Exit code 0 for 1xx–3xx, 1 for other statuses, 3 when the server
 * still answers 401.
 */
export async function runCall(method: string, target: string, flags: CallFlags, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  if (!METHOD.test(method)) throw new CliError(`not an HTTP method: ${JSON.stringify(method)}`, ExitCode.Usage);
  const context = await openUserContext(flags, env);
  const headers = new Headers();
  for (const header of flags.header ?? []) {
    const colon = header.indexOf(':');
    if (colon <= 0) throw new CliError(`-H wants "name: value" (got ${JSON.stringify(header)})`, ExitCode.Usage);
    headers.append(header.slice(0, colon).trim(), header.slice(colon + 1).trim());
  }
  let body: string | undefined;
  if (flags.data !== undefined) {
    body = await readData(flags.data);
    if (!headers.has('content-type')) {
      try {
        JSON.parse(body);
        headers.set('content-type', 'application/json');
      } catch {
        headers.set('content-type', 'text/plain;charset=UTF-8');
      }
    }
  }
  let url: string;
  try {
    url = new URL(target, `${context.url}/`).toString();
  } catch {
    throw new CliError(`not a path or URL: ${JSON.stringify(target)}`, ExitCode.Usage);
  }
  if (new URL(url).origin !== new URL(context.url).origin) {
    // The session's token is only ever sent to the server it belongs to.
    throw new CliError(`${new URL(url).origin} is not the server logged in to (${context.url}); pass a path or use --url`, ExitCode.Usage);
  }
  await runUserCommand(context.url, async () => {
    const response = await context.api.fetch(url, { method: method.toUpperCase(), headers, ...(body !== undefined ? { body } : {}) });
    const text = await response.text();
    if (flags.json) {
      let parsed: unknown = text;
      try {
        parsed = text === '' ? null : JSON.parse(text);
      } catch {
        // keep the text
      }
      printJson({ status: response.status, headers: Object.fromEntries(response.headers), body: parsed });
    } else {
      if (flags.include) {
        const lines = [`HTTP ${response.status} ${response.statusText}`.trimEnd()];
        for (const [name, value] of response.headers) lines.push(`${name}: ${value}`);
        process.stdout.write(`${lines.join('\n')}\n\n`);
      }
      process.stdout.write(text.endsWith('\n') || text === '' ? text : `${text}\n`);
    }
    if (response.status === 401) process.exitCode = ExitCode.AuthRequired;
    else if (response.status >= 400) process.exitCode = ExitCode.Failure;
  });
}
