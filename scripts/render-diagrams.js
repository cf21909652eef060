// Writes docs/state-diagrams/ from the XState machines in src/machines/ with the compiled
// src/tools/diagrams.ts. With --check it writes nothing and exits 1 when a file is stale.
'use strict';
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const check = process.argv.includes('--check');
const fail = (message) => {
  console.error(`render-diagrams: ${message}`);
  process.exit(1);
};

const compiled = path.join(root, 'dist', 'tools', 'diagrams.js');
if (!fs.existsSync(compiled)) fail('dist/tools/diagrams.js is missing: run npm run build first');
const { renderAllDiagrams, staleDiagramFiles, MACHINES_DIR } = require(compiled);

// dist/ older than the sources would draw (or pass) the machines as they were.
const mtime = (file) =>
  fs.existsSync(path.join(root, file)) ? fs.statSync(path.join(root, file)).mtimeMs : 0;
const sources = fs.readdirSync(path.join(root, MACHINES_DIR)).map((name) => `${MACHINES_DIR}/${name}`);
const outdated = ['src/tools/diagrams.ts', ...sources].filter(
  (src) => src.endsWith('.ts') && mtime(src) > mtime(src.replace(/^src\//, 'dist/').replace(/\.ts$/, '.js')),
);
if (outdated.length > 0) fail(`dist/ is older than ${outdated.join(', ')}: run npm run build first`);

const rendered = renderAllDiagrams(root);
const stale = staleDiagramFiles(root, rendered);
if (stale.length === 0) {
  console.log('render-diagrams: up to date');
} else if (check) {
  fail(`stale, run npm run diagrams:\n  ${stale.join('\n  ')}`);
} else {
  for (const file of stale) {
    const content = rendered.get(file);
    if (content === undefined) {
      fs.rmSync(path.join(root, file));
    } else {
      fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
      fs.writeFileSync(path.join(root, file), content);
    }
    console.log(`render-diagrams: ${content === undefined ? 'removed' : 'wrote'} ${file}`);
  }
}
