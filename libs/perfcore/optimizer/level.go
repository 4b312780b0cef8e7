package optimizer

import "fmt"

// Level is how loaded the optimizer judges the process to be, and so how
// hard the rest of the application should work to save resources (the data
// layer batches repository reads from Aggressive up).
type Level int

// Levels from least to most loaded.
const (
	Conservative Level = iota
	Moderate
	Aggressive
	Maximum
)

var levelNames = [...]string{"conservative", "moderate", "aggressive", "maximum"}

func (l Level) String() string {
	if l < Conservative || l > Maximum {
		return fmt.Sprintf("Level(%d)", int(l))
	}
	return levelNames[l]
}

// ParseLevel turns a level's name back into the Level.
func ParseLevel(s string) (Level, error) {
	for i, n := range levelNames {
		if n == s {
			return Level(i), nil
		}
	}
	return 0, fmt.Errorf("optimizer: parse level %q: want one of %v", s, levelNames)
}
