// Command dashgen writes the dashboards described in package grafana to ops/grafana/dashboards.
// Run it from the repository root: go run ./ops/grafana/dashgen
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/brisk-go/brisk/ops/grafana"
)

func main() {
	dir := filepath.Join("ops", "grafana", "dashboards")
	if len(os.Args) > 1 {
		dir = os.Args[1]
	}
	if err := write(dir); err != nil {
		fmt.Fprintln(os.Stderr, "dashgen:", err)
		os.Exit(1)
	}
}

func write(dir string) error {
	files, err := grafana.RenderAll()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	for name, js := range files {
		if err := os.WriteFile(filepath.Join(dir, name), js, 0o644); err != nil {
			return fmt.Errorf("write %s: %w", name, err)
		}
		fmt.Println("wrote", filepath.Join(dir, name))
	}
	return nil
}
