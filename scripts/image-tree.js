#!/usr/bin/env node
/**
 * Assembles the file tree of the Dockerfile's final stage without a container engine, by reading the
 * Dockerfile and carrying out its instructions on this machine:
 *
 *   node scripts/image-tree.js --out <dir> [--dockerfile Dockerfile]
 *
 * writes `<dir>/rootfs` (the final image's files) and `<dir>/config.json` (its USER, ENV, WORKDIR,
 * ENTRYPOINT, CMD, EXPOSE). Every stage gets its own root directory; a container path `/x` of a stage is
 * `<stage root>/x`. Earlier stages run their RUN lines with `sh -c` on this machine (its node and npm stand
 * in for the base image's); the final stage may not RUN at all, and its base image is materialised as this
 * machine's node binary at /usr/local/bin/node (where the official node images keep it) plus the shared
 * libraries it loads. Any instruction not handled here is an error, so the Dockerfile and this tree cannot
 * drift apart silently.
 */
'use strict';
const { execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const ROOT = path.join(__dirname, '..');
/** Where the official node images install node; the launchers' shebang names this path. */
const NODE_PATH_IN_IMAGE = '/usr/local/bin/node';

class ImageTreeError extends Error {
  constructor(message, options) {
    super(message, options);
    this.name = 'ImageTreeError';
    this.reason = 'unsupported-dockerfile';
  }
}

/** Logical lines: continuations joined, comments and blank lines dropped. */
function logicalLines(text) {
  const out = [];
  let current = '';
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    if (current === '' && (line.trim() === '' || line.trim().startsWith('#'))) continue;
    if (line.endsWith('\\')) {
      current += `${line.slice(0, -1)} `;
      continue;
    }
    out.push((current + line).trim());
    current = '';
  }
  if (current.trim() !== '') out.push(current.trim());
  return out;
}

function substitute(value, args) {
  return value.replace(/\$\{(\w+)\}|\$(\w+)/g, (_m, a, b) => args[a ?? b] ?? '');
}

/**
 * Parses the Dockerfile into stages of { instruction, rest }, with variables substituted as Docker does: an
 * ARG before the first FROM is seen by FROM lines only, and inside a stage only once that stage declares it
 * again (`ARG NAME`); a stage's own ARG and ENV values are seen by the instructions after them, ENV over ARG.
 */
function parseDockerfile(text) {
  const globalArgs = {};
  const stages = [];
  let scope = {};
  for (const line of logicalLines(text)) {
    const space = line.search(/\s/);
    const instruction = (space === -1 ? line : line.slice(0, space)).toUpperCase();
    const rest = space === -1 ? '' : line.slice(space + 1).trim();
    if (instruction === 'ARG') {
      const eq = rest.indexOf('=');
      const name = eq === -1 ? rest : rest.slice(0, eq);
      if (stages.length === 0) {
        // A default may name an earlier ARG (`ARG BASE_IMAGE=node:${NODE_VERSION}-bookworm-slim`), as in Docker.
        globalArgs[name] = eq === -1 ? (globalArgs[name] ?? '') : substitute(rest.slice(eq + 1), globalArgs);
      } else if (!Object.hasOwn(scope, name) || scope[name].kind === 'arg') {
        const value = eq === -1 ? (globalArgs[name] ?? '') : substitute(rest.slice(eq + 1), values(scope));
        scope[name] = { kind: 'arg', value };
      }
      continue;
    }
    if (instruction === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(substitute(rest, globalArgs));
      if (!m) throw new ImageTreeError(`cannot read FROM ${rest}`);
      stages.push({ base: m[1], name: m[2] ?? String(stages.length), steps: [] });
      scope = {};
      continue;
    }
    if (stages.length === 0) throw new ImageTreeError(`${instruction} before the first FROM`);
    const substituted = substitute(rest, values(scope));
    if (instruction === 'ENV') {
      for (const [name, value] of envPairs(substituted)) scope[name] = { kind: 'env', value };
    }
    stages[stages.length - 1].steps.push({ instruction, rest: substituted });
  }
  return stages;
}

const values = (scope) => Object.fromEntries(Object.entries(scope).map(([k, v]) => [k, v.value]));

/** `ENV A=1 B="two words"`: [name, value] pairs. */
function envPairs(rest) {
  return [...rest.matchAll(/(\w+)=("[^"]*"|\S+)/g)].map((m) => [m[1], m[2].replace(/^"|"$/g, '')]);
}

/** `a b c` or the JSON form `["a", "b"]`. */
function words(rest) {
  return rest.startsWith('[') ? JSON.parse(rest) : rest.split(/\s+/).filter(Boolean);
}

function copyInto(src, dest) {
  // verbatimSymlinks: without it cpSync rewrites a relative link (node_modules/.bin/*) to an absolute path
  // into the stage it came from, which is deleted afterwards; Docker's COPY keeps links as they are.
  fs.cpSync(src, dest, {
    recursive: true,
    dereference: false,
    preserveTimestamps: true,
    verbatimSymlinks: true,
  });
}

/** Docker's COPY: a directory's contents go into dest; files into dest (a directory when it ends with /). */
function copy(sources, dest, destIsDir) {
  for (const src of sources) {
    if (!fs.existsSync(src)) throw new ImageTreeError(`COPY source ${src} does not exist`);
    if (fs.statSync(src).isDirectory()) {
      fs.mkdirSync(dest, { recursive: true });
      for (const entry of fs.readdirSync(src)) copyInto(path.join(src, entry), path.join(dest, entry));
    } else if (destIsDir) {
      fs.mkdirSync(dest, { recursive: true });
      copyInto(src, path.join(dest, path.basename(src)));
    } else {
      fs.mkdirSync(path.dirname(dest), { recursive: true });
      copyInto(src, dest);
    }
  }
}

/** This machine's node and the shared libraries it loads, at the paths the image would have them. */
function materialiseNodeBase(rootfs) {
  const target = path.join(rootfs, NODE_PATH_IN_IMAGE);
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.copyFileSync(process.execPath, target);
  fs.chmodSync(target, 0o755);
  const ldd = execFileSync('ldd', [process.execPath], { encoding: 'utf8' });
  for (const lib of ldd.match(/\/\S+\.so[.\d]*/g) ?? []) {
    const dest = path.join(rootfs, lib);
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    fs.copyFileSync(fs.realpathSync(lib), dest);
  }
  // The official images have a world-writable /tmp; node and our tests expect one.
  fs.mkdirSync(path.join(rootfs, 'tmp'), { recursive: true, mode: 0o1777 });
  fs.chmodSync(path.join(rootfs, 'tmp'), 0o1777);
}

function buildStage(stage, index, stages, work, context, final) {
  const rootfs = path.join(work, `stage-${index}`, 'rootfs');
  fs.mkdirSync(rootfs, { recursive: true, mode: 0o755 });
  fs.chmodSync(rootfs, 0o755);
  const config = { user: '', env: {}, workdir: '/', entrypoint: [], cmd: [], expose: [], labels: {} };
  if (final) materialiseNodeBase(rootfs);
  const inImage = (p) => path.join(rootfs, path.posix.resolve(config.workdir, p));
  for (const { instruction, rest } of stage.steps) {
    switch (instruction) {
      case 'WORKDIR':
        config.workdir = path.posix.resolve(config.workdir, rest);
        fs.mkdirSync(inImage('.'), { recursive: true });
        break;
      case 'ENV':
        for (const [name, value] of envPairs(rest)) config.env[name] = value;
        break;
      case 'COPY': {
        const parts = words(rest);
        let from;
        while (parts[0]?.startsWith('--')) {
          const flag = parts.shift();
          if (flag.startsWith('--from=')) from = flag.slice('--from='.length);
          else throw new ImageTreeError(`COPY ${flag} is not supported here`);
        }
        const dest = parts.pop();
        const fromStage = from === undefined ? undefined : stages.findIndex((s) => s.name === from);
        if (fromStage === -1) throw new ImageTreeError(`COPY --from=${from}: no such stage`);
        const sources = parts.map((p) =>
          fromStage === undefined
            ? path.join(context, p)
            : path.join(work, `stage-${fromStage}`, 'rootfs', path.posix.resolve('/', p)),
        );
        copy(sources, inImage(dest), dest.endsWith('/') || sources.length > 1);
        break;
      }
      case 'RUN':
        if (final) throw new ImageTreeError('RUN in the final stage cannot be reproduced on this machine');
        execFileSync('sh', ['-c', rest], {
          cwd: inImage('.'),
          env: { ...process.env, ...config.env },
          stdio: ['ignore', 'inherit', 'inherit'],
        });
        break;
      case 'USER':
        config.user = rest;
        break;
      case 'ENTRYPOINT':
        config.entrypoint = words(rest);
        break;
      case 'CMD':
        config.cmd = words(rest);
        break;
      case 'EXPOSE':
        config.expose.push(...words(rest));
        break;
      case 'LABEL':
        for (const m of rest.matchAll(/([\w.-]+)="([^"]*)"/g)) config.labels[m[1]] = m[2];
        break;
      default:
        throw new ImageTreeError(`${instruction} is not supported by scripts/image-tree.js`);
    }
  }
  return { rootfs, config };
}

/** Builds every stage in order; returns the final stage's rootfs and config. */
function assembleImageTree({ out, dockerfile = path.join(ROOT, 'Dockerfile'), context = ROOT }) {
  const stages = parseDockerfile(fs.readFileSync(dockerfile, 'utf8'));
  if (stages.length === 0) throw new ImageTreeError('no FROM in the Dockerfile');
  fs.rmSync(out, { recursive: true, force: true });
  const work = path.join(out, 'stages');
  fs.mkdirSync(work, { recursive: true });
  let result;
  stages.forEach((stage, i) => {
    process.stderr.write(`image-tree: stage ${i} (${stage.name}) FROM ${stage.base}\n`);
    result = buildStage(stage, i, stages, work, context, i === stages.length - 1);
  });
  const rootfs = path.join(out, 'rootfs');
  fs.renameSync(result.rootfs, rootfs);
  fs.rmSync(work, { recursive: true, force: true });
  fs.chmodSync(out, 0o755);
  fs.writeFileSync(path.join(out, 'config.json'), `${JSON.stringify(result.config, null, 2)}\n`);
  return { rootfs, config: result.config };
}

module.exports = { assembleImageTree, parseDockerfile, ImageTreeError, NODE_PATH_IN_IMAGE };

if (require.main === module) {
  const i = process.argv.indexOf('--out');
  const d = process.argv.indexOf('--dockerfile');
  if (i === -1 || !process.argv[i + 1]) {
    process.stderr.write('usage: node scripts/image-tree.js --out <dir> [--dockerfile <file>]\n');
    process.exit(2);
  }
  try {
    const { rootfs, config } = assembleImageTree({
      out: path.resolve(process.argv[i + 1]),
      ...(d !== -1 ? { dockerfile: path.resolve(process.argv[d + 1]) } : {}),
    });
    process.stdout.write(`${rootfs}\n${JSON.stringify(config)}\n`);
  } catch (err) {
    process.stderr.write(`image-tree: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
}
