package profiles_test

import (
	"fmt"

	"github.com/brisk-go/brisk/libs/perfcore/profiles"
)

func ExampleGet() {
	s, ok := profiles.Get("web")
	fmt.Println(ok, s.MinWorkers, s.MaxWorkers, s.ContextDefaultTimeout, s.ContextMaxTimeout, s.ContextEnableDeadline)
	_, ok = profiles.Get("nope")
	fmt.Println(ok)
	// Output:
	// true 4 64 10s 30s true
	// false
}

func ExampleNames() {
	fmt.Println(profiles.Names())
	// Output: [api background web]
}
