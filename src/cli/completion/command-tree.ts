import type { Command } from 'commander';

/** One option as completion scripts need it. */
export interface CompletionOption {
  /** `--registry`, `-v`: every spelling. */
  flags: string[];
  description: string;
  /** It takes a value (`--registry <url>`). */
  takesValue: boolean;
  /** The values it allows, when commander knows them (`.choices([...])`). */
  choices: string[];
}

/** A command and what may follow it, read from the commander program so it stays current. */
export interface CompletionNode {
  /** The words from the program to here: `[]` for `agentry`, `['token', 'create']`. */
  path: string[];
  name: string;
  description: string;
  subcommands: CompletionNode[];
  options: CompletionOption[];
}

const HELP: CompletionOption = { flags: ['-h', '--help'], description: 'display help for command', takesValue: false, choices: [] };

const nodeOf = (cmd: Command, path: string[]): CompletionNode => ({
  path,
  name: cmd.name(),
  description: cmd.description(),
  subcommands: cmd.commands.flatMap((sub) => [sub.name(), ...sub.aliases()].map((alias) => nodeOf(sub, [...path, alias]))),
  options: [
    ...cmd.options
      .filter((o) => !o.hidden)
      .map((o) => ({
        flags: [o.short, o.long].filter((f): f is string => typeof f === 'string'),
        description: o.description,
        takesValue: o.required || o.optional,
        choices: o.argChoices ?? [],
      })),
    HELP,
  ],
});

/** The tree of `program`'s commands, each alias as its own node. */
export const commandTree = (program: Command): CompletionNode => nodeOf(program, []);

/** Every node of the tree, depth first, the root first. */
export const allNodes = (node: CompletionNode): CompletionNode[] => [node, ...node.subcommands.flatMap(allNodes)];

/** Quotes `s` for a POSIX shell (bash, zsh). */
export const shellQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
