/**
 * The repository stands on its own: a clone with nothing beside it must build, test and read whole, so no
 * tracked file (code, tests, docs, the .proto schema, scripts) may point at notes kept outside it, such as
 * a workspace's protocol or engineering notes next to the clone. What such a note said belongs in place.
 * The one thing read from beside a clone, optionally, is the reference's vector file (.ci/run), named by
 * an absolute path there, never by a relative one.
 */
import { execFileSync } from 'child_process';
import { readFileSync } from 'fs';
import * as path from 'path';

const ROOT = path.join(__dirname, '..', '..');

/** Built from parts so that this file does not match itself. */
const OUTSIDE_REFERENCES: readonly string[] = [
  ['..', 'shared'].join('/'),
  ...['PROTOCOL', 'ENGINEERING', 'STYLE'].map((name) => `${name}.md`),
];

function trackedFiles(): string[] {
  return execFileSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 })
    .split('\0')
    .filter((f) => f.length > 0);
}

it('no tracked file points at notes outside the repository', () => {
  const files = trackedFiles();
  expect(files).toContain('proto/client.proto');
  const offending = files.flatMap((file) => {
    const text = readFileSync(path.join(ROOT, file), 'latin1');
    return OUTSIDE_REFERENCES.filter((ref) => text.includes(ref)).map((ref) => `${file}: ${ref}`);
  });
  expect(offending).toEqual([]);
});
