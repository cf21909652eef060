// Writes docs/state-diagrams/ from the XState machines in src/machines/ (see src/tools/diagrams.ts) using
// the compiled code in dist/. With --check it writes nothing and exits 1 if any file is stale.
'use strict';
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const compiled = path.join(root, 'dist', 'tools', 'diagrams.js');
if (!fs.existsSync(compiled)) {
  console.error('render-diagrams: dist/tools/diagrams.js is missing: run npm run build first');
  process.exit(1);
}
// Drawing from a dist/ older than the sources would write (or pass) stale diagrams.
const { renderAllDiagrams, staleDiagramFiles, MACHINES_DIR } = require(compiled);
const sources = [
  'src/tools/diagrams.ts',
  ...fs.readdirSync(path.join(root, MACHINES_DIR)).map((f) => `${MACHINES_DIR}/${f}`),
];
const mtime = (file) => (fs.existsSync(file) ? fs.statSync(file).mtimeMs : 0);
const outdated = sources.filter(
  (src) =>
    src.endsWith('.ts') &&
    mtime(path.join(root, src)) > mtime(path.join(root, src.replace(/^src/, 'dist').replace(/\.ts$/, '.js'))),
);
if (outdated.length > 0) {
  console.error(`render-diagrams: dist/ is older than ${outdated.join(', ')}: run npm run build first`);
  process.exit(1);
}

const rendered = renderAllDiagrams(root);
const stale = staleDiagramFiles(root, rendered);
if (process.argv.includes('--check')) {
  if (stale.length > 0) {
    console.error(`render-diagrams: stale, run npm run diagrams:\n  ${stale.join('\n  ')}`);
    process.exit(1);
  }
} else {
  for (const file of stale) {
    const content = rendered.get(file);
    if (content === undefined) {
      fs.rmSync(path.join(root, file));
    } else {
      fs.mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
      fs.writeFileSync(path.join(root, file), content);
    }
  }
}
console.log(
  `render-diagrams: ${stale.length === 0 ? 'up to date' : `${process.argv.includes('--check') ? '' : 'wrote '}${stale.join(', ')}`}`,
);
