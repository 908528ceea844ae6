// Mocha merges a config's `spec` with the files named on the command line, so
// `mocha test/x.test.ts` would run the whole suite too: the suite is the default only when no
// test file is named.
const named = process.argv.slice(2).some((arg) => /\.test\.ts$/.test(arg));
module.exports = {
  'node-option': ['import=tsx'],
  ...(named ? {} : { spec: ['test/**/*.test.ts'] }),
  timeout: 120000,
  reporter: 'spec',
};
