// Mocha merges a config's `spec` with the files named on the command line, so
// `mocha test/x.test.ts` would run the whole suite too: the suite is the default only when no
// test file is named.
const named = process.argv.slice(2).some((arg) => /\.test\.ts$/.test(arg));
// Commands the tests spawn (bin/ct-muscle-node.js) run the TypeScript sources, never a dist/
// build that `npm ci` made (see bin/ct-muscle-node.js): the suite tests the code as it is.
process.env.CT_MUSCLE_NODE_FROM_SOURCE = '1';
module.exports = {
  'node-option': ['import=tsx'],
  ...(named ? {} : { spec: ['test/**/*.test.ts'] }),
  timeout: 120000,
  reporter: 'spec',
};
