// Command worker runs Brisk's background work against the shared database: the durable jobs
// of the Conduit domain, and the bulk import and job-management commands. main only wires the process to run (see run).
package main

import "github.com/brisk-go/brisk/libs/startup"

func main() { startup.Main("worker", run) }
