/** docs/events.md must show a valid example of every event type, so the docs cannot drift from the code. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EVENT_TYPES, validateEvent } from '../../src/events';

describe('docs/events.md', () => {
  const doc = readFileSync(join(__dirname, '..', '..', 'docs', 'events.md'), 'utf8');
  const examples = [...doc.matchAll(/```json\n([\s\S]*?)```/g)].flatMap((m) =>
    m[1]!
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as unknown),
  );

  it('has a valid example payload for every event type', () => {
    const results = examples.map(validateEvent);
    expect(results.filter((r) => !r.ok)).toEqual([]);
    const documented = results.flatMap((r) => (r.ok ? [r.event.type] : []));
    expect([...new Set(documented)].sort()).toEqual([...EVENT_TYPES].sort());
  });

  it('lists every event type in a table', () => {
    for (const type of EVENT_TYPES) expect(doc).toContain(`| \`${type}\``);
  });
});
