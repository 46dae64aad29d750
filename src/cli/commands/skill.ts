import type { Command } from 'commander';
import { CliError } from '../cli-error.js';
import { withJsonOption, withRegistryOptions, type JsonOption } from '../global-options.js';
import { printResult } from '../output.js';
/** Loaded on use: the skill validator (YAML) is most of the CLI's start-up otherwise. */
const checkSkillFolder = async (folder: string) => (await import('../skill-check.js')).checkSkillFolder(folder);
import { publishFolder, type PublishOptions } from './publish.js';
import { ACCESS_HELP, accessLevel } from '../visibility-option.js';
import { pullPackage, type PullOptions } from './pull.js';

/** `agentry skill validate|publish|pull`: Agent Skills (a folder with SKILL.md). */
export const registerSkillCommand = (program: Command): void => {
  const skill = program.command('skill').description('Validate, publish and pull Agent Skills (folders with SKILL.md)');

  withJsonOption(
    skill
      .command('validate')
      .description("Check a skill folder against the Agent Skills rules, locally (the registry's own validator); exit 1 when it is invalid")
      .argument('[folder]', 'the skill folder', '.'),
  ).action(async (folder: string, opts: JsonOption) => {
    const result = await checkSkillFolder(folder);
    const { path, valid, errors, warnings } = result;
    printResult(opts.json === true, { path, valid, errors, warnings }, () => [
      ...(valid ? [`${path}: a valid skill`] : []),
      ...errors.map((e) => `error: ${e}`),
      ...warnings.map((w) => `warning: ${w}`),
    ]);
    if (!valid) throw new CliError(`${folder} is not a valid skill (${errors.length} error${errors.length === 1 ? '' : 's'})`);
  });

  withJsonOption(
    withRegistryOptions(
      skill
        .command('publish')
        .description('Validate a skill folder, then pack and publish it')
        .argument('[folder]', 'the skill folder', '.')
        .option('--tag <tag>', "a dist-tag to point at the new version (default: 'latest' follows the highest release)")
        .option('--scope <scope>', 'the scope to publish to (default: metadata.scope in SKILL.md, else your username)')
        .option('--access <visibility>', ACCESS_HELP, accessLevel),
    ),
  ).action(async (folder: string, opts: PublishOptions) => {
    const { valid, errors } = await checkSkillFolder(folder);
    if (!valid) throw new CliError(`${folder} is not a valid skill; nothing was published`, errors);
    await publishFolder(folder, opts);
  });

  withJsonOption(
    withRegistryOptions(
      skill
        .command('pull')
        .description('Download a skill, verify its sha256 and extract it into a new folder named after it')
        .argument('<skill>', '@scope/name, @scope/name@version or @scope/name@tag (default: latest)')
        .option('--out <dir>', 'the folder to create (default: ./<name>)'),
    ),
  ).action((spec: string, opts: PullOptions) => pullPackage(spec, opts, '/skills'));
};
