import type { AuditEntryJson } from '@latchkey/server';
import { runAdmin, type DatabaseFlags } from '../admin/target.js';
import { CliError, ExitCode } from '../exit-codes.js';

/** Flags of `latchkey audit`. */
export interface AuditFlags extends DatabaseFlags {
  readonly user?: string;
  readonly action?: string;
  readonly since?: string;
  readonly until?: string;
  readonly limit?: string;
}

/** Flags of `latchkey audit prune`. */
export interface AuditPruneFlags extends DatabaseFlags {
  readonly olderThan?: string;
}

function line(entry: AuditEntryJson): string {
  const { payload } = entry;
  const traits = payload.traits ? `  ${JSON.stringify(payload.traits)}` : '';
  const from = entry.ip_address ? `  from ${entry.ip_address}` : '';
  return `${entry.created_at}  ${payload.action.padEnd(24)} ${payload.actor_username || payload.actor_id}${from}${traits}\n`;
}

/**
 * `latchkey audit [--user <id>] [--action <a>] [--since <t>] [--until <t>] [--limit N] [--json]`: the
 * audit log, newest first. Reads only.
 */
export async function runAudit(flags: AuditFlags): Promise<void> {
  if (flags.limit !== undefined && (!/^\d{1,4}$/.test(flags.limit) || Number(flags.limit) < 1 || Number(flags.limit) > 1000)) {
    throw new CliError('--limit must be a whole number from 1 to 1000', ExitCode.Usage);
  }
  const query = {
    ...(flags.user !== undefined ? { user_id: flags.user } : {}),
    ...(flags.action !== undefined ? { action: flags.action } : {}),
    ...(flags.since !== undefined ? { since: flags.since } : {}),
    ...(flags.until !== undefined ? { until: flags.until } : {}),
    limit: flags.limit !== undefined ? Number(flags.limit) : 50,
  };
  const page = await runAdmin(flags, false, (admin) => admin.audit(query));
  if (flags.json) {
    process.stdout.write(`${JSON.stringify(page)}\n`);
    return;
  }
  if (page.entries.length === 0) {
    process.stdout.write('no audit entries\n');
    return;
  }
  process.stdout.write(page.entries.map(line).join(''));
  if (page.total > page.entries.length) process.stdout.write(`(${page.entries.length} of ${page.total}; --limit shows more)\n`);
}

/** `latchkey audit prune [--older-than <duration>]`: deletes entries older than the retention. */
export async function runAuditPrune(flags: AuditPruneFlags): Promise<void> {
  const { loadAuditSettings, ConfigError } = await import('@latchkey/server');
  let seconds: number;
  try {
    const env = flags.olderThan !== undefined ? { LATCHKEY_AUDIT_RETENTION: flags.olderThan } : process.env;
    seconds = loadAuditSettings(env).retentionSeconds;
  } catch (error) {
    if (error instanceof ConfigError) throw new CliError(flags.olderThan !== undefined ? `--older-than must be a duration like 720h or 30d` : error.message, ExitCode.Usage);
    throw error;
  }
  if (seconds === 0) {
    process.stdout.write(flags.json ? '{"deleted":0}\n' : 'the retention keeps entries forever (LATCHKEY_AUDIT_RETENTION=0): nothing pruned\n');
    return;
  }
  const before = new Date(Date.now() - seconds * 1000).toISOString();
  const { deleted } = await runAdmin(flags, true, (admin) => admin.pruneAudit({ before }));
  process.stdout.write(flags.json ? `${JSON.stringify({ deleted, before })}\n` : `deleted ${deleted} entries written before ${before}\n`);
}
