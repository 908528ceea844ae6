// Mocha merges a config's `spec` with the files named on the command line, so
// `mocha test/x.test.ts` would run the whole suite too: the suite is the default only when no
// test file is named.
const named = process.argv.slice(2).some((arg) => /\.test\.ts$/.test(arg));
// Commands the tests spawn (bin/ct-muscle-node.js) run the TypeScript sources, never a dist/
// build that `npm ci` made (see bin/ct-muscle-node.js): the suite tests the code as it is.
process.env.CT_MUSCLE_NODE_FROM_SOURCE = '1';
// Every test file is loaded as an ES module, as the built command runs. Node 20.19+ can require()
// ES modules, and mocha then loads a .ts test file through tsx's CommonJS hook: a module that the
// code imports lazily (`await import`) is then a second, ES-module instance beside the CommonJS one
// the test holds, and its errors fail `instanceof CtMuscleError`. Without require(esm), mocha imports.
module.exports = {
  'node-option': ['import=tsx', 'no-experimental-require-module'],
  ...(named ? {} : { spec: ['test/**/*.test.ts'] }),
  timeout: 120000,
  reporter: 'spec',
};
