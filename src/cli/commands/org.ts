import { Option, type Command } from 'commander';
import type { MembersResult, OrgMember, OrgView } from '../api-types.js';
import { connect, requireToken } from '../connection.js';
import { withJsonOption, withRegistryOptions, type JsonOption, type RegistryOptions } from '../global-options.js';
import { printResult, renderTable } from '../output.js';

type Options = RegistryOptions & JsonOption;

const memberTable = (members: OrgMember[]): string =>
  members.length === 0
    ? '(no members)'
    : renderTable(
        ['USERNAME', 'ROLE'],
        members.map((m) => [m.username, m.role]),
      );

const orgPath = (org: string): string => `/orgs/${encodeURIComponent(org.replace(/^@/, ''))}`;

export const registerOrgCommand = (program: Command): void => {
  const org = program.command('org').description('Manage organisations');

  withJsonOption(
    withRegistryOptions(
      org
        .command('add')
        .description('Create an organisation (admin)')
        .argument('<name>', 'the organisation name (also its scope)')
        .option('--owner <user>', 'its first owner')
        .option('--display-name <name>', 'a display name'),
    ),
  ).action(async (name: string, opts: Options & { owner?: string; displayName?: string }) => {
    const conn = await connect(opts);
    requireToken(conn);
    const created = await conn.client.json<OrgView>('POST', '/orgs', {
      body: {
        name: name.replace(/^@/, ''),
        ...(opts.owner ? { owner: opts.owner } : {}),
        ...(opts.displayName !== undefined ? { display_name: opts.displayName } : {}),
      },
    });
    printResult(opts.json === true, created, () => [`Created organisation @${created.name}`, memberTable(created.members)]);
  });

  const member = org.command('member').description("Manage an organisation's members");

  withJsonOption(
    withRegistryOptions(
      member
        .command('add')
        .description("Add a member or change a member's role (admin or org owner)")
        .argument('<org>', 'the organisation')
        .argument('<user>', 'the user')
        .addOption(
          new Option('--role <role>', 'owner: manages members and settings, and publishes; maintainer: publishes, deprecates, unpublishes, sets dist-tags; member: reads private packages')
            .choices(['owner', 'maintainer', 'member'])
            // npm's habit: `npm org set` makes a developer (who publishes) unless told otherwise.
            .default('maintainer'),
        ),
    ),
  ).action(async (orgName: string, username: string, opts: Options & { role: string }) => {
    const conn = await connect(opts);
    requireToken(conn);
    const r = await conn.client.json<MembersResult>('PUT', `${orgPath(orgName)}/members/${encodeURIComponent(username)}`, { body: { role: opts.role }, subject: `@${orgName.replace(/^@/, '')}` });
    printResult(opts.json === true, r, () => [`${username} is now ${opts.role === 'owner' ? 'an owner' : `a ${opts.role}`} of @${orgName.replace(/^@/, '')}`, memberTable(r.members)]);
  });

  withJsonOption(withRegistryOptions(member.command('rm').description('Remove a member (admin or org owner)').argument('<org>', 'the organisation').argument('<user>', 'the user'))).action(
    async (orgName: string, username: string, opts: Options) => {
      const conn = await connect(opts);
      requireToken(conn);
      const r = await conn.client.json<MembersResult>('DELETE', `${orgPath(orgName)}/members/${encodeURIComponent(username)}`, { subject: `@${orgName.replace(/^@/, '')}` });
      printResult(opts.json === true, r, () => [`Removed ${username} from @${orgName.replace(/^@/, '')}`, memberTable(r.members)]);
    },
  );

  withJsonOption(withRegistryOptions(member.command('ls').description("List an organisation's members").argument('<org>', 'the organisation'))).action(async (orgName: string, opts: Options) => {
    const conn = await connect(opts);
    const r = await conn.client.json<OrgView>('GET', orgPath(orgName), { subject: `@${orgName.replace(/^@/, '')}` });
    printResult(opts.json === true, r, () => memberTable(r.members));
  });
};
