// What option parsing needs from the outside world, injectable so tests need no real files or
// randomness.

import { randomUUID } from 'node:crypto';
import { statSync } from 'node:fs';

export interface ConfigDeps {
  /** False only when the path does not exist (Go's os.IsNotExist); other stat errors count as present. */
  readonly fileExists: (path: string) => boolean;
  readonly randomUUID: () => string;
}

/** Optional arguments of parseServerFlags / parseAgentFlags. */
export interface ParseFlagsOptions {
  readonly deps?: Partial<ConfigDeps>;
  /** Name shown in --help; defaults to the installed binary's name. */
  readonly binaryName?: string;
}

export const defaultConfigDeps: ConfigDeps = {
  fileExists: (p) => {
    try {
      statSync(p);
      return true;
    } catch (e) {
      return (e as NodeJS.ErrnoException).code !== 'ENOENT';
    }
  },
  randomUUID: () => randomUUID(),
};

/** Go's *PathError text for a missing file, as the reference embeds it in its messages. */
export const statNotExist = (path: string): string => `stat ${path}: no such file or directory`;
