// Package livepage holds the browser test of the live page that libs/observe serves on the
// admin listener (/debug/statsviz/): it builds the API, drives a bounded load with ops/load,
// opens the page in headless Chromium and waits until every one of Brisk's plots has points,
// read from the page's own plot data. The package has no code of its own beyond the test.
package livepage
