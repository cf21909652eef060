/**
 * docs/events.md cannot drift from the code: its examples, reason tables and CLI output are generated
 * (npm run docs:events) from the real event factories, the reason vocabulary and the CLI formatter,
 * and this test fails when the committed doc differs from what the code generates now.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EVENT_TYPES, REASONED_TYPES, REASONS, validateEvent } from '../../src/events';
import {
  applyEventDocBlocks,
  EVENTS_DOC,
  exampleEvents,
  renderEventDocBlocks,
} from '../../src/tools/eventDocs';

const doc = readFileSync(join(__dirname, '..', '..', EVENTS_DOC), 'utf8');

describe('docs/events.md', () => {
  it('is what npm run docs:events generates from the code (run it when this fails)', () => {
    expect(applyEventDocBlocks(doc, renderEventDocBlocks())).toBe(doc);
  });

  it('notices a stale example: a doc with an old reason spelling differs from the generated one', () => {
    const stale = doc.replace('"reason":"agent-error"', '"reason":"error_response"');
    expect(stale).not.toBe(doc);
    expect(applyEventDocBlocks(stale, renderEventDocBlocks())).toBe(doc);
  });

  it('refuses a doc whose generated block lost its markers', () => {
    const broken = doc.replace('<!-- END GENERATED reasons -->', '');
    expect(() => applyEventDocBlocks(broken, renderEventDocBlocks())).toThrow(/no .*reasons/);
  });

  it('has a valid example payload for every event type', () => {
    const examples = [...doc.matchAll(/```json\n([\s\S]*?)```/g)].flatMap((m) =>
      m[1]!
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as unknown),
    );
    const results = examples.map(validateEvent);
    expect(results.filter((r) => !r.ok)).toEqual([]);
    const documented = results.flatMap((r) => (r.ok ? [r.event.type] : []));
    expect([...new Set(documented)].sort()).toEqual([...EVENT_TYPES].sort());
  });

  it('lists every event type in a table and every reason of every type', () => {
    for (const type of EVENT_TYPES) expect(doc).toContain(`| \`${type}\``);
    for (const type of REASONED_TYPES)
      for (const reason of Object.keys(REASONS[type]))
        expect(doc).toMatch(new RegExp(`\\| \`${type}\` +\\| \`${reason}\` +\\|`));
  });

  it('generates one example of each event type, each valid', () => {
    const { server, agent } = exampleEvents();
    const all = [...server, ...agent];
    expect(all.map((e) => e.type).sort()).toEqual([...EVENT_TYPES].sort());
    for (const e of all) expect(validateEvent(JSON.parse(JSON.stringify(e)))).toEqual({ ok: true, event: e });
    expect(new Set(all.map((e) => e.id)).size).toBe(all.length);
  });
});
