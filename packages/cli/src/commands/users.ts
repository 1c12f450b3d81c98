import { runAdmin, type DatabaseFlags } from '../admin/target.js';
import { CliError, ExitCode } from '../exit-codes.js';

/**
 * `latchkey users create`: a confirmed user with a password, through the running server's admin socket
 * or on the database directly. With `--admin` the user's role is an admin role, so it signs in to the
 * admin console at `/admin` and may call the admin API.
 */
export interface CreateUserFlags extends DatabaseFlags {
  readonly email: string;
  readonly password?: string;
  readonly admin?: boolean;
}

export async function runUsersCreate(flags: CreateUserFlags): Promise<void> {
  const password = flags.password ?? process.env.LATCHKEY_PASSWORD;
  if (!password) throw new CliError('give --password, or set LATCHKEY_PASSWORD', ExitCode.Usage);
  const created = await runAdmin(flags, true, (admin) => admin.createUser({ email: flags.email, password, admin: flags.admin === true }));
  process.stdout.write(flags.json ? `${JSON.stringify(created)}\n` : `created ${created.email} (${created.id}), role ${created.role}\n`);
}
