package presets_test

import (
	"fmt"

	"github.com/brisk-go/brisk/libs/perfcore/presets"
)

func ExampleGet() {
	s, ok := presets.Get("web")
	fmt.Println(ok, s.MinWorkers, s.MaxWorkers, s.ContextDefaultTimeout, s.ContextMaxTimeout, s.ContextEnableDeadline)
	_, ok = presets.Get("nope")
	fmt.Println(ok)
	// Output:
	// true 4 64 10s 30s true
	// false
}

func ExampleNames() {
	fmt.Println(presets.Names())
	// Output: [api background web]
}
