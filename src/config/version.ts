/**
 * The one version every binary reports: `version` from the package.json beside `dist/` (or `src/`),
 * read once at start-up. Reading the file (rather than importing it) keeps package.json out of the compiled
 * tree, so an installed package, a container image and a checkout all report the version they ship.
 */
import { readFileSync } from 'fs';
import * as path from 'path';

/** Printed when package.json cannot be read, so `--version` never throws. */
export const UNKNOWN_VERSION = '0.0.0-unknown';

function readVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as {
      version?: unknown;
    };
    return typeof pkg.version === 'string' && pkg.version !== '' ? pkg.version : UNKNOWN_VERSION;
  } catch {
    return UNKNOWN_VERSION;
  }
}

export const VERSION: string = readVersion();

/** `konnectivity-server v0.1.0 (node v20.19.0)`: what `--version` prints. */
export function versionLine(binaryName: string): string {
  return `${binaryName} v${VERSION} (node ${process.version})`;
}

/**
 * Whether the command line asks for the version: `--version` (or Go-style `-version`, `--version=true`)
 * before any `--`. Checked before flag parsing, so it answers even next to flags that would not validate.
 */
export function asksForVersion(argv: readonly string[]): boolean {
  for (const arg of argv) {
    if (arg === '--') return false;
    if (/^--?version(=(true|1|t|T|TRUE|True))?$/.test(arg)) return true;
  }
  return false;
}
