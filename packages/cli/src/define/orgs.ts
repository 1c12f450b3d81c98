import type { Command } from 'commander';
import type { runOrgsCreate, runOrgsList, runOrgsSwitch } from '../commands/orgs.js';
import { withServerUrl } from './shared.js';

export function register(program: Command): void {
  const orgs = program.command('orgs').description("list, create and switch the session's organizations");
  withServerUrl(orgs.command('list').description('the organizations you belong to, with your role (* = current)')).action(async (flags: Parameters<typeof runOrgsList>[0]) => {
    await (await import('../commands/orgs.js')).runOrgsList(flags);
  });
  withServerUrl(orgs.command('create').description('create an organization with you as its owner').argument('<name>', 'its name')).action(
    async (name: string, flags: Parameters<typeof runOrgsCreate>[1]) => {
      await (await import('../commands/orgs.js')).runOrgsCreate(name, flags);
    },
  );
  withServerUrl(orgs.command('switch').description('make an organization current: the stored session is replaced by one for it').argument('<id>', 'organization id')).action(
    async (id: string, flags: Parameters<typeof runOrgsSwitch>[1]) => {
      await (await import('../commands/orgs.js')).runOrgsSwitch(id, flags);
    },
  );
}
