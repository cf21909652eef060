/**
 * Builds compared side by side by the per-dial tools (`--roots=before=/tmp/old-checkout,after=.`): on a
 * shared machine only rounds interleaved in one run compare fairly, so each tool measures every build in
 * turn, the order rotating from round to round.
 */
import * as fs from 'fs';
import * as path from 'path';
import { UsageError, cliPath } from './cliOptions';

/** A directory with `bin/` and a built `dist/` (a copy of an older `npm run build` works). */
export interface Build {
  readonly name: string;
  readonly dir: string;
}

/** This checkout, from bench-build/bench/. */
export const THIS_CHECKOUT = path.join(__dirname, '../..');

/**
 * `name=dir,name=dir` (directories relative to where npm was run), or this checkout alone as `this` when
 * empty. Each must hold what `needs` names (e.g. 'dist/main-server.js'), else a UsageError says which.
 */
export function parseBuilds(text: string, needs: readonly string[]): Build[] {
  const builds: Build[] = text
    ? text.split(',').map((item) => {
        const eq = item.indexOf('=');
        const name = item.slice(0, eq).trim();
        const dir = item.slice(eq + 1).trim();
        if (eq <= 0 || !dir)
          throw new UsageError(`--roots takes name=dir[,name=dir...], got ${JSON.stringify(item)}`);
        return { name, dir: cliPath(dir) };
      })
    : [{ name: 'this', dir: THIS_CHECKOUT }];
  const names = new Set<string>();
  for (const b of builds) {
    if (names.has(b.name)) throw new UsageError(`--roots names ${JSON.stringify(b.name)} twice`);
    names.add(b.name);
    for (const need of needs) {
      if (!fs.existsSync(path.join(b.dir, need))) {
        throw new UsageError(`build ${b.name} (${b.dir}) has no ${need}; run \`npm run build\` there first`);
      }
    }
  }
  return builds;
}

/** Round `round`'s order: a,b,c / b,c,a / c,a,b / ..., so that no build always runs first. */
export const rotated = <T>(items: readonly T[], round: number): T[] =>
  items.map((_, i) => items[(i + round) % items.length]!);
