import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Events and their log sit below the actors: the actors record through them, never the other way round
 * (a log that imports an actor module drags the whole actor system into every tool that reads a log).
 */
const LOWER_LAYERS = ['events', 'persistence'];
const UPPER_LAYERS = ['actors', 'server', 'agent', 'transport', 'inspector', 'machines'];

function sourcesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sourcesUnder(join(dir, entry.name))
      : entry.name.endsWith('.ts')
        ? [join(dir, entry.name)]
        : [],
  );
}

describe('layering of events and persistence', () => {
  it('imports nothing from the layers above', () => {
    const src = join(__dirname, '../../src');
    const offending: string[] = [];
    for (const layer of LOWER_LAYERS) {
      for (const file of sourcesUnder(join(src, layer))) {
        const text = readFileSync(file, 'utf8');
        for (const match of text.matchAll(/from '(\.\.\/[^']+)'/g)) {
          const target = match[1]!.replace(/^(\.\.\/)+/, '').split('/')[0]!;
          if (UPPER_LAYERS.includes(target)) offending.push(`${file.slice(src.length + 1)} -> ${match[1]}`);
        }
      }
    }
    expect(offending).toEqual([]);
  });
});
