// The mini-program's tests: its pages rendered by miniprogram-simulate (WeChat's own wcc/wcsc compile
// the WXML and WXSS), driven as a person would, against this app served for real by rig.py.
const path = require('path')

module.exports = {
  rootDir: path.resolve(__dirname, '../..'),
  roots: ['<rootDir>/tests/miniprogram'],
  testMatch: ['**/*.test.js'],
  testEnvironment: 'jsdom',
  globalSetup: '<rootDir>/tests/miniprogram/support/global-setup.js',
  globalTeardown: '<rootDir>/tests/miniprogram/support/global-teardown.js',
  // One server, one SQLite writer: the files run one after another.
  maxWorkers: 1,
  testTimeout: 30000,
}
