import { runAdmin, type DatabaseFlags } from '../admin/target.js';
import { CliError, ExitCode } from '../exit-codes.js';
import { parseBaseUrl } from './user-context.js';

/** Flags of `latchkey webhooks list|show|replay`. */
export interface WebhooksFlags extends DatabaseFlags {
  readonly url?: string;
  readonly serviceRoleKey?: string;
  readonly endpoint?: string;
  readonly limit?: string;
  readonly before?: string;
}

interface EventSummary {
  id: number;
  endpoint: string;
  delivery_key: string;
  received_at: string;
  forward_status: string;
  forward_attempts: number;
}

/**
 * Calls the admin webhook API (`/auth/v1/admin/webhooks/…`) of the server at `--url` (`LATCHKEY_URL`,
 * else http://127.0.0.1:8000) with the service_role key: `--service-role-key`,
 * `LATCHKEY_SERVICE_ROLE_KEY`, else the key of the server on this data directory or database.
 */
async function adminCall(flags: WebhooksFlags, method: 'GET' | 'POST', path: string): Promise<Record<string, unknown>> {
  const url = flags.url ? parseBaseUrl(flags.url, '--url') : process.env.LATCHKEY_URL ? parseBaseUrl(process.env.LATCHKEY_URL, 'LATCHKEY_URL') : 'http://127.0.0.1:8000';
  const key = flags.serviceRoleKey || process.env.LATCHKEY_SERVICE_ROLE_KEY || (await runAdmin(flags, false, (admin) => admin.keys())).service_role_key;
  let response: Response;
  try {
    response = await fetch(`${url}/auth/v1/admin/webhooks${path}`, { method, headers: { apikey: key, authorization: `Bearer ${key}` } });
  } catch {
    throw new CliError(`cannot reach ${url}`, ExitCode.Failure);
  }
  const body = (await response.json().catch(() => ({}))) as Record<string, unknown>;
  if (!response.ok) {
    const reason = typeof body.message === 'string' ? body.message : typeof body.msg === 'string' ? body.msg : `HTTP ${response.status}`;
    throw new CliError(reason, response.status === 401 || response.status === 403 ? ExitCode.AuthRequired : ExitCode.Failure);
  }
  return body;
}

function eventId(raw: string): string {
  if (!/^\d{1,15}$/.test(raw) || Number(raw) < 1) throw new CliError(`event id must be a positive whole number (got ${JSON.stringify(raw)})`, ExitCode.Usage);
  return raw;
}

function print(flags: WebhooksFlags, json: unknown, text: string): void {
  process.stdout.write(flags.json ? `${JSON.stringify(json)}\n` : text);
}

/** `latchkey webhooks list [--endpoint NAME] [--limit N] [--before ID]`: stored events, newest first. */
export async function runWebhooksList(flags: WebhooksFlags): Promise<void> {
  const query = new URLSearchParams();
  if (flags.endpoint) query.set('endpoint', flags.endpoint);
  if (flags.limit) query.set('limit', flags.limit);
  if (flags.before) query.set('before', flags.before);
  const body = await adminCall(flags, 'GET', `/events${query.size > 0 ? `?${query}` : ''}`);
  const events = (body.events ?? []) as EventSummary[];
  const line = (event: EventSummary) => `${event.id}  ${event.endpoint}  ${event.delivery_key}  ${event.received_at}  forward ${event.forward_status}${event.forward_attempts ? ` (${event.forward_attempts} attempts)` : ''}\n`;
  print(flags, { events }, events.map(line).join('') || 'no events\n');
}

/** `latchkey webhooks show <id>`: one event with its headers and body. */
export async function runWebhooksShow(id: string, flags: WebhooksFlags): Promise<void> {
  const event = await adminCall(flags, 'GET', `/events/${eventId(id)}`);
  const headers = Object.entries((event.headers ?? {}) as Record<string, string>).map(([name, value]) => `  ${name}: ${value}\n`).join('');
  print(
    flags,
    event,
    `id             ${String(event.id)}\nendpoint       ${String(event.endpoint)}\ndelivery key   ${String(event.delivery_key)}\nreceived       ${String(event.received_at)}\n` +
      `forward        ${String(event.forward_status)} (${String(event.forward_attempts)} attempts)${event.forward_error ? `, last error ${String(event.forward_error)}` : ''}\n` +
      `headers\n${headers}body (${String(event.body_encoding)})\n${String(event.body)}\n`,
  );
}

/** `latchkey webhooks replay <id>`: delivers the event again to its channel and forward URL. */
export async function runWebhooksReplay(id: string, flags: WebhooksFlags): Promise<void> {
  const replayed = await adminCall(flags, 'POST', `/events/${eventId(id)}/replay`);
  print(flags, replayed, `replayed ${String(replayed.id)}\n`);
}
