package presets

import (
	"slices"
	"testing"
)

func TestPresetsAreConsistent(t *testing.T) {
	t.Parallel()
	for _, name := range Names() {
		s, ok := Get(name)
		if !ok {
			t.Fatalf("Get(%q) not found although Names lists it", name)
		}
		if s.MinWorkers < 1 || s.MaxWorkers < s.MinWorkers {
			t.Errorf("%s: workers min=%d max=%d", name, s.MinWorkers, s.MaxWorkers)
		}
		if s.QueueSize < 1 || s.IdleTimeout <= 0 {
			t.Errorf("%s: queue=%d idle=%v", name, s.QueueSize, s.IdleTimeout)
		}
		if s.ContextDefaultTimeout <= 0 || s.ContextMaxTimeout < s.ContextDefaultTimeout {
			t.Errorf("%s: default timeout %v must be >0 and <= max %v", name, s.ContextDefaultTimeout, s.ContextMaxTimeout)
		}
		if s.MemoryPoolSize < 1 || s.MemorySlabSize < 1 || s.MemoryCleanupInterval <= 0 {
			t.Errorf("%s: memory settings %+v", name, s)
		}
		if s.ProfileSamplingInterval <= 0 || s.ProfileOptimizationInterval < s.ProfileSamplingInterval || s.ProfileMaxOptimizations < 1 {
			t.Errorf("%s: profile settings sampling=%v optimization=%v max=%d", name,
				s.ProfileSamplingInterval, s.ProfileOptimizationInterval, s.ProfileMaxOptimizations)
		}
	}
}

func TestGetUnknownAndCopy(t *testing.T) {
	t.Parallel()
	if _, ok := Get("gaming"); ok {
		t.Fatal("Get(gaming) reported a preset that does not exist")
	}
	s, _ := Get("web")
	s.MaxWorkers = -1
	if again, _ := Get("web"); again.MaxWorkers == -1 {
		t.Fatal("changing a returned Settings changed the preset")
	}
}

func TestNamesSortedAndComplete(t *testing.T) {
	t.Parallel()
	got := Names()
	if want := []string{"api", "background", "web"}; !slices.Equal(got, want) {
		t.Fatalf("Names() = %v, want %v", got, want)
	}
	got[0] = "changed"
	if Names()[0] != "api" {
		t.Fatal("Names returned shared storage")
	}
}
