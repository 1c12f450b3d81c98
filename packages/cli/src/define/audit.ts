import type { Command } from 'commander';
import type { AuditFlags, AuditPruneFlags } from '../commands/audit.js';
import { withDatabase } from './shared.js';

export function register(program: Command): void {
  const audit = withDatabase(
    program
      .command('audit')
      .description('show the audit log (sign-ins, sign-ups, refreshes, admin and factor changes), newest first')
      .option('--user <id>', 'only entries by or about this user')
      .option('--action <action>', 'only this action (login, logout, user_signedup, token_refreshed, …)')
      .option('--since <time>', 'only entries at or after this ISO 8601 time')
      .option('--until <time>', 'only entries before this ISO 8601 time')
      .option('--limit <n>', 'how many entries (default 50, at most 1000)'),
    'print {"entries":[…],"total":n} as JSON',
  ).action(async (flags: AuditFlags) => {
    await (await import('../commands/audit.js')).runAudit(flags);
  });
  withDatabase(
    audit
      .command('prune')
      .description('delete entries older than the retention (LATCHKEY_AUDIT_RETENTION, default 90d)')
      .option('--older-than <duration>', 'a duration like 720h or 30d, instead of the retention'),
  ).action(async (flags: AuditPruneFlags, command: Command) => {
    const parent = command.parent?.opts<AuditFlags>() ?? {};
    await (await import('../commands/audit.js')).runAuditPrune({
      ...(parent.databaseUrl !== undefined ? { databaseUrl: parent.databaseUrl } : {}),
      ...(parent.dataDir !== undefined ? { dataDir: parent.dataDir } : {}),
      ...(parent.json !== undefined ? { json: parent.json } : {}),
      ...flags,
    });
  });
}
