package auth

import (
	"context"
	"sync"

	"golang.org/x/crypto/bcrypt"
)

// dummyHashes holds one hash per cost, of a password nobody has: made once, on first use.
var dummyHashes sync.Map // int (cost) → string

// dummyHash is a bcrypt hash at p's cost that no password matches in practice.
func (p Passwords) dummyHash() string {
	cost := p.Cost
	if cost == 0 {
		cost = bcrypt.DefaultCost
	}
	if h, ok := dummyHashes.Load(cost); ok {
		return h.(string)
	}
	h, err := bcrypt.GenerateFromPassword([]byte("brisk: no account has this password"), cost)
	if err != nil {
		return "" // only for an out-of-range cost, which Hash refuses as well
	}
	actual, _ := dummyHashes.LoadOrStore(cost, string(h))
	return actual.(string)
}

// CheckNobody does the work of Check against a hash of the same cost and throws the answer
// away. A login for an unknown email calls it, so that it takes as long as one for a known
// email with a wrong password and the time of the answer does not tell which emails exist. It
// runs on the CPU pool like Check; a full pool's refusal is returned, as Check's would be.
func (p Passwords) CheckNobody(ctx context.Context, password string) error {
	_, err := p.Check(ctx, p.dummyHash(), password)
	return err
}
