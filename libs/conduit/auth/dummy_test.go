package auth

import (
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// The stand-in hash an unknown email is checked against has the same cost as a real one, so
// both logins do the same work; and it matches no password a client would send.
func TestCheckNobodyDoesTheSameWork(t *testing.T) {
	t.Parallel()
	for _, cost := range []int{bcrypt.MinCost, bcrypt.MinCost + 1} {
		p := Passwords{Cost: cost}
		real, err := p.Hash(t.Context(), "password1")
		if err != nil {
			t.Fatal(err)
		}
		dummy := p.dummyHash()
		got, err := bcrypt.Cost([]byte(dummy))
		if err != nil {
			t.Fatal(err)
		}
		want, _ := bcrypt.Cost([]byte(real))
		if got != want {
			t.Fatalf("dummy hash cost %d, a real hash's %d", got, want)
		}
		if ok, _ := p.Check(t.Context(), dummy, "password1"); ok {
			t.Fatal("the dummy hash matched a password")
		}
		if err := p.CheckNobody(t.Context(), "password1"); err != nil {
			t.Fatal(err)
		}
	}
}
