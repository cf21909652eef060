/**
 * `--version` on every binary, from one source (package.json), run as the real executables (needs the build).
 */
import { spawnSync } from 'child_process';
import { readFileSync } from 'fs';
import * as path from 'path';
import { asksForVersion } from '../../src/config/version';

const root = path.join(__dirname, '..', '..');
const packageVersion = (
  JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }
).version;

/** The binaries a user gets from `bin` in package.json. */
const binaries = Object.keys(
  (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { bin: Record<string, string> }).bin,
);

it('every binary in package.json is one of ours with a --version', () => {
  expect(binaries).toEqual(
    expect.arrayContaining(['konnectivity-server', 'konnectivity-agent', 'konnectivity-events']),
  );
});

it.each(binaries)('%s --version prints its name and the package version and exits 0', (name) => {
  const run = spawnSync(path.join(root, 'bin', name), ['--version'], { encoding: 'utf8' });
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  expect(run.stdout).toBe(`${name} v${packageVersion} (node ${process.version})\n`);
});

it('answers --version even beside flags that would not validate, like pflag answers --help', () => {
  const run = spawnSync(path.join(root, 'bin', 'konnectivity-server'), ['--mode=nonsense', '--version'], {
    encoding: 'utf8',
  });
  expect(run.status).toBe(0);
  expect(run.stdout).toMatch(/^konnectivity-server v/);
});

it.each([
  [['--version'], true],
  [['-version'], true],
  [['--version=true'], true],
  [['--v=2', '--version'], true],
  [['--', '--version'], false],
  [['--version=false'], false],
  [['--versions'], false],
  [['--agent-id=version'], false],
])('asksForVersion(%j) is %s', (argv, expected) => {
  expect(asksForVersion(argv)).toBe(expected);
});
