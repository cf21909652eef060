/**
 * scripts/image-tree.js on small Dockerfiles of our own: it carries out what Docker would (stages, RUN,
 * COPY --from, variables scoped as Docker scopes them) and refuses what it cannot reproduce, so that the
 * tree test/packaging/imageTree.test.ts runs cannot silently differ from the image the Dockerfile builds.
 */
import { execFileSync } from 'child_process';
import { mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';

import { imageTree, type DockerStage } from '../helpers/imageTreeScript';

// The final stage copies this machine's node binary into the tree: a few seconds on a busy disk.
jest.setTimeout(60_000);

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'knp-image-tree-script-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function assemble(dockerfile: string): ReturnType<typeof imageTree.assembleImageTree> {
  writeFileSync(path.join(dir, 'Dockerfile'), dockerfile);
  return imageTree.assembleImageTree({
    out: path.join(dir, 'out'),
    dockerfile: path.join(dir, 'Dockerfile'),
    context: dir,
  });
}

const stepsOf = (stage: DockerStage): string[] => stage.steps.map((s) => `${s.instruction} ${s.rest}`);

describe('variables, scoped as Docker scopes them', () => {
  it('an ARG before the first FROM reaches FROM lines, and a stage only when the stage declares it again', () => {
    const [first, second] = imageTree.parseDockerfile(
      [
        'ARG V=20',
        'ARG BASE=node:${V}-slim',
        'FROM ${BASE} AS one',
        'RUN echo "[${V}]"',
        'FROM ${BASE}',
        'ARG V',
        'COPY a-${V} /x',
      ].join('\n'),
    );
    expect(first!.base).toBe('node:20-slim');
    expect(stepsOf(first!)).toEqual(['RUN echo "[]"']);
    expect(second!.base).toBe('node:20-slim');
    expect(stepsOf(second!)).toEqual(['COPY a-20 /x']);
  });

  it("a stage's ENV is seen by the instructions after it, over an ARG of the same name", () => {
    const [stage] = imageTree.parseDockerfile(
      ['FROM b', 'ARG D=/from-arg', 'ENV D=/opt/app', 'ARG D=/ignored', 'WORKDIR $D', 'COPY x ${D}/'].join(
        '\n',
      ),
    );
    expect(stepsOf(stage!)).toEqual(['ENV D=/opt/app', 'WORKDIR /opt/app', 'COPY x /opt/app/']);
  });

  it('does not carry one stage’s variables into the next', () => {
    const [, second] = imageTree.parseDockerfile(['FROM a', 'ENV P=/p', 'FROM b', 'WORKDIR /w$P'].join('\n'));
    expect(stepsOf(second!)).toEqual(['WORKDIR /w']);
  });
});

it('builds every stage, copies between them and leaves the final stage’s tree and config', () => {
  writeFileSync(path.join(dir, 'hello.txt'), 'hello\n');
  const { rootfs, config } = assemble(
    [
      'ARG V=7',
      'FROM base AS one',
      'WORKDIR /w',
      'ARG V',
      'RUN printf "v=%s" "${V}" > made.txt && mkdir bin && ln -s ../made.txt bin/made',
      'FROM node:20-bookworm-slim',
      'ENV APP=/app',
      'WORKDIR $APP',
      'COPY --from=one /w/made.txt ./',
      'COPY --from=one /w/bin /app/bin',
      'COPY hello.txt /app/',
      'USER 1000:1000',
      'ENTRYPOINT ["/usr/local/bin/node"]',
    ].join('\n'),
  );
  expect(readFileSync(path.join(rootfs, 'app/made.txt'), 'utf8')).toBe('v=7');
  expect(readFileSync(path.join(rootfs, 'app/hello.txt'), 'utf8')).toBe('hello\n');
  // A relative link (as in node_modules/.bin) stays as it was written, not pointed at the build's stages.
  expect(readlinkSync(path.join(rootfs, 'app/bin/made'))).toBe('../made.txt');
  expect(readFileSync(path.join(rootfs, 'app/bin/made'), 'utf8')).toBe('v=7');
  expect(config).toMatchObject({
    user: '1000:1000',
    env: { APP: '/app' },
    workdir: '/app',
    entrypoint: ['/usr/local/bin/node'],
  });
  // The base image stands in as this machine's node, at the path the official images have it.
  const node = path.join(rootfs, 'usr/local/bin/node');
  expect(statSync(node).mode & 0o111).toBe(0o111);
  expect(execFileSync(node, ['--version'], { encoding: 'utf8' }).trim()).toBe(process.version);
  expect(statSync(path.join(rootfs, 'tmp')).mode & 0o7777).toBe(0o1777);
});

it.each([
  ['RUN in the final stage', 'RUN rm -rf /bin', /RUN in the final stage cannot be reproduced/],
  [
    'COPY with a flag it does not carry out',
    'COPY --chown=1:1 hello.txt /h',
    /COPY --chown=1:1 is not supported/,
  ],
  ['an instruction it does not know', 'HEALTHCHECK CMD ["/proxy-server"]', /HEALTHCHECK is not supported/],
  ['a COPY from a stage that does not exist', 'COPY --from=nowhere /x /x', /no such stage/],
  ['a COPY of a file the context does not have', 'COPY missing.txt /m', /missing\.txt does not exist/],
])('refuses %s instead of building a tree that differs from the image', (_what, line, message) => {
  writeFileSync(path.join(dir, 'hello.txt'), 'hello\n');
  let error: unknown;
  try {
    assemble(['FROM node:20-bookworm-slim', 'WORKDIR /app', line].join('\n'));
  } catch (err) {
    error = err;
  }
  expect(error).toMatchObject({ name: 'ImageTreeError', reason: 'unsupported-dockerfile' });
  expect((error as Error).message).toMatch(message);
});
