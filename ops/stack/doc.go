// Package stack holds the tests that check the local stack without a Docker engine:
// compose.yaml is loaded with compose-spec/compose-go, the Dockerfile is parsed with
// BuildKit's parser, and every file, port, environment variable and dependency they name is
// checked against the repository and the apps' configuration.
package stack
