import { Argument, type Command } from 'commander';
import { bashCompletion } from '../completion/bash.js';
import { commandTree } from '../completion/command-tree.js';
import { fishCompletion } from '../completion/fish.js';
import { zshCompletion } from '../completion/zsh.js';

const SHELLS = { bash: bashCompletion, zsh: zshCompletion, fish: fishCompletion } as const;

/** `agentry completion bash|zsh|fish`: the shell's completion script, made from the program itself. */
export const registerCompletionCommand = (program: Command): void => {
  program
    .command('completion')
    .description('Print a shell completion script (bash, zsh or fish)')
    .addArgument(new Argument('<shell>', 'the shell').choices(Object.keys(SHELLS)))
    .addHelpText(
      'after',
      `
Examples:
  source <(agentry completion bash)                      # bash, this session
  agentry completion bash > ~/.local/share/bash-completion/completions/agentry
  agentry completion zsh > "\${fpath[1]}/_agentry"        # zsh
  agentry completion fish > ~/.config/fish/completions/agentry.fish`,
    )
    .action((shell: keyof typeof SHELLS) => {
      process.stdout.write(SHELLS[shell](commandTree(program)));
    });
};
