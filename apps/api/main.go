// Command api serves the RealWorld "Conduit" API over Brisk's data layer and performance
// library. main only wires the process to run (see run).
package main

import "github.com/brisk-go/brisk/libs/startup"

func main() { startup.Main("api", run) }
