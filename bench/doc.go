// Package bench holds the side-by-side benchmarks of libs/perfcore against
// the plain way and against peer libraries (ants, pond, conc). It is its
// own module so that the peers never become dependencies of perfcore.
// The HTTP harness (the API beside a hand-written limit server) is the
// command in bench/http. Results and the commands that produced them are in
// docs/benchmarks.md.
package bench
