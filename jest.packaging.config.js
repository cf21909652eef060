// The packaging tests (npm pack + install, the container image's file tree) build and install the whole
// project, which takes minutes of both cores. They run after the rest of the suite, one at a time, so that
// they do not slow the end-to-end tests beside them.
const base = require('./jest.config.js');

/** @type {import('jest').Config} */
module.exports = {
  ...base,
  roots: ['<rootDir>/test/packaging'],
  testPathIgnorePatterns: ['/node_modules/'],
  maxWorkers: 1,
};
