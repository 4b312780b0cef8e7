// Package users is registration, login and the current user's account: the rules (valid and
// unique username and email, password length, hashing) and the transactions around them.
package users

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/uptrace/bun"

	"github.com/brisk-go/brisk/libs/conduit"
	"github.com/brisk-go/brisk/libs/conduit/apperr"
	"github.com/brisk-go/brisk/libs/conduit/auth"
	"github.com/brisk-go/brisk/libs/conduit/validate"
	"github.com/brisk-go/brisk/libs/data/cache"
	"github.com/brisk-go/brisk/libs/data/repository"
)

// Limits on account fields.
const (
	MaxUsername    = 64
	MinPassword    = 8
	MaxPassword    = 72 // bcrypt ignores anything past 72 bytes
	MaxBio         = 2000
	MaxImageURL    = 2048
	takenMessage   = "has already been taken"
	badCredentials = "email or password"
)

// Account is the current user as the API shows them, with a fresh token.
type Account struct {
	Email    string
	Token    string
	Username string
	Bio      string
	Image    string
}

// Service owns the account rules.
type Service struct {
	db        *bun.DB
	users     conduit.Users
	tokens    *auth.Tokens
	passwords auth.Passwords
	now       func() time.Time
	finder    *repository.Finder[conduit.User] // nil: direct finds
	events    *conduit.Events

	accounts   cache.Typed[conduit.User] // resolved accounts, without their password hash
	accountTTL time.Duration             // 0: Resolve reads the database every time
}

// Deps is what the account service is built from. DB and Tokens are required.
type Deps struct {
	DB        *bun.DB
	Tokens    *auth.Tokens
	Passwords auth.Passwords
	Now       func() time.Time // the clock; time.Now when nil
	// Finder, when set, serves finds by id; it coalesces concurrent ones (every authenticated
	// GET /api/user finds its user by id) when its batching is on.
	Finder *repository.Finder[conduit.User]
	// Events receives the account events, raised in each change's transaction (nil: a set
	// with no listeners); an after-commit listener flushes what caches show of the user.
	Events *conduit.Events
	// Cache, when set, keeps each account Resolve finds (every authenticated request resolves
	// its token's user) for CacheTTL (default one minute), under the user's tag, which the
	// UserUpdated listener flushes after an update commits; the password hash is not cached.
	// An account deleted behind the API's back (no route deletes one) keeps resolving until
	// its entry expires.
	Cache    *cache.Cache
	CacheTTL time.Duration
}

// NewService returns the account service.
func NewService(d Deps) *Service {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Events == nil {
		d.Events = conduit.NoEvents()
	}
	s := &Service{db: d.DB, tokens: d.Tokens, passwords: d.Passwords, now: d.Now, finder: d.Finder, events: d.Events}
	if d.Cache != nil {
		if d.CacheTTL <= 0 {
			d.CacheTTL = time.Minute
		}
		s.accounts, s.accountTTL = cache.Of[conduit.User](d.Cache), d.CacheTTL
	}
	return s
}

// RegisterInput is a new account.
type RegisterInput struct {
	Username string
	Email    string
	Password string
}

// NormalizeEmail is how emails are stored and compared: trimmed and lower-cased, so
// "Jake@Example.com" and "jake@example.com" are one account.
func NormalizeEmail(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

func checkUsername(p apperr.Problems, username string) {
	validate.Required(p, "username", username, MaxUsername)
	for _, r := range username {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '_' && r != '-' && r != '.' {
			p.Add("username", "may contain only letters, digits, '_', '-' and '.'")
			return
		}
	}
}

func checkPassword(p apperr.Problems, password string) {
	switch {
	case password == "":
		p.Add("password", "can't be blank")
	case len([]rune(password)) < MinPassword:
		p.Add("password", "is too short (minimum is %d characters)", MinPassword)
	case len(password) > MaxPassword:
		p.Add("password", "is too long (maximum is %d bytes)", MaxPassword)
	}
}

// Register creates an account and returns it with a token.
func (s *Service) Register(ctx context.Context, in RegisterInput) (Account, error) {
	in.Email = NormalizeEmail(in.Email)
	p := apperr.Problems{}
	checkUsername(p, in.Username)
	validate.Email(p, "email", in.Email)
	checkPassword(p, in.Password)
	if err := p.Err(); err != nil {
		return Account{}, err
	}
	hash, err := s.passwords.Hash(ctx, in.Password)
	if err != nil {
		return Account{}, fmt.Errorf("register: %w", err)
	}
	now := s.now().UTC()
	u := &conduit.User{Username: in.Username, Email: in.Email, PasswordHash: hash, CreatedAt: now, UpdatedAt: now}
	err = conduit.InTx(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		if err := s.checkTaken(ctx, tx, u.Username, u.Email, 0); err != nil {
			return err
		}
		if err := s.users.Create(ctx, tx, u); err != nil {
			return err
		}
		return s.events.UserRegistered.Dispatch(ctx, conduit.UserRegistered{UserID: u.ID, Username: u.Username})
	})
	if repository.IsUniqueViolation(err) {
		// Lost a race with a concurrent registration: say which value is now taken.
		err = s.checkTaken(ctx, s.db, u.Username, u.Email, 0)
		if err == nil {
			err = apperr.New(apperr.Invalid, "username", takenMessage)
		}
	}
	if err != nil {
		return Account{}, fmt.Errorf("register: %w", err)
	}
	return s.account(u)
}

func (s *Service) checkTaken(ctx context.Context, db bun.IDB, username, email string, exceptID int64) error {
	uTaken, eTaken, err := s.users.Taken(ctx, db, username, email, exceptID)
	if err != nil {
		return err
	}
	p := apperr.Problems{}
	if uTaken {
		p.Add("username", takenMessage)
	}
	if eTaken {
		p.Add("email", takenMessage)
	}
	return p.Err()
}

// LoginInput is a login attempt.
type LoginInput struct {
	Email    string
	Password string
}

// Login checks the credentials and returns the account with a new token. Unknown email and
// wrong password get the same answer, so the API does not reveal which emails exist.
func (s *Service) Login(ctx context.Context, in LoginInput) (Account, error) {
	in.Email = NormalizeEmail(in.Email)
	p := apperr.Problems{}
	validate.Required(p, "email", in.Email, 254)
	if in.Password == "" {
		p.Add("password", "can't be blank")
	}
	if err := p.Err(); err != nil {
		return Account{}, err
	}
	u, err := s.users.FindByEmail(ctx, s.db, in.Email)
	if errors.Is(err, repository.ErrNotFound) {
		// The same work as a wrong password, so the answer's time does not tell which emails exist.
		if err := s.passwords.CheckNobody(ctx, in.Password); err != nil {
			return Account{}, fmt.Errorf("login: %w", err)
		}
		return Account{}, apperr.New(apperr.Unauthorized, badCredentials, "is invalid")
	}
	if err != nil {
		return Account{}, fmt.Errorf("login: %w", err)
	}
	ok, err := s.passwords.Check(ctx, u.PasswordHash, in.Password)
	if err != nil {
		return Account{}, fmt.Errorf("login: %w", err)
	}
	if !ok {
		return Account{}, apperr.New(apperr.Unauthorized, badCredentials, "is invalid")
	}
	return s.account(u)
}

// Current returns the account of userID (the authenticated caller).
func (s *Service) Current(ctx context.Context, userID int64) (Account, error) {
	u, err := s.find(ctx, s.db, userID)
	if err != nil {
		return Account{}, err
	}
	return s.account(u)
}

func (s *Service) find(ctx context.Context, db bun.IDB, userID int64) (*conduit.User, error) {
	var u *conduit.User
	var err error
	if s.finder != nil {
		u, err = s.finder.FindIn(ctx, db, userID)
	} else {
		u, err = s.users.FindByID(ctx, db, userID)
	}
	if errors.Is(err, repository.ErrNotFound) {
		// A validly signed token for an account that no longer exists.
		return nil, apperr.New(apperr.Unauthorized, "token", "is invalid")
	}
	if err != nil {
		return nil, fmt.Errorf("current user: %w", err)
	}
	return u, nil
}

// UpdateInput changes the fields that are not nil. An empty Bio or Image clears it.
type UpdateInput struct {
	Email    *string
	Username *string
	Password *string
	Bio      *string
	Image    *string
}

// Update changes the account of userID and returns it.
func (s *Service) Update(ctx context.Context, userID int64, in UpdateInput) (Account, error) {
	p := apperr.Problems{}
	if in.Email == nil && in.Username == nil && in.Password == nil && in.Bio == nil && in.Image == nil {
		p.Add("user", "must change at least one of email, username, password, bio, image")
	}
	if in.Email != nil {
		e := NormalizeEmail(*in.Email)
		in.Email = &e
		validate.Email(p, "email", e)
	}
	if in.Username != nil {
		checkUsername(p, *in.Username)
	}
	if in.Password != nil {
		checkPassword(p, *in.Password)
	}
	if in.Bio != nil {
		validate.MaxLen(p, "bio", *in.Bio, MaxBio)
	}
	if in.Image != nil {
		validate.URL(p, "image", *in.Image, MaxImageURL)
	}
	if err := p.Err(); err != nil {
		return Account{}, err
	}
	var hash string
	if in.Password != nil {
		h, err := s.passwords.Hash(ctx, *in.Password)
		if err != nil {
			return Account{}, fmt.Errorf("update user: %w", err)
		}
		hash = h
	}
	var u *conduit.User
	err := conduit.InTx(ctx, s.db, func(ctx context.Context, tx bun.Tx) error {
		var err error
		if u, err = s.find(ctx, tx, userID); err != nil {
			return err
		}
		ev := conduit.UserUpdated{UserID: u.ID, OldUsername: u.Username}
		var username, email string
		if in.Username != nil && *in.Username != u.Username {
			username, u.Username = *in.Username, *in.Username
		}
		if in.Email != nil && *in.Email != u.Email {
			email, u.Email = *in.Email, *in.Email
		}
		if username != "" || email != "" {
			if err := s.checkTaken(ctx, tx, username, email, u.ID); err != nil {
				return err
			}
		}
		if hash != "" {
			u.PasswordHash = hash
		}
		if in.Bio != nil {
			u.Bio = *in.Bio
		}
		if in.Image != nil {
			u.Image = *in.Image
		}
		u.UpdatedAt = s.now().UTC()
		if err := s.users.Update(ctx, tx, u); err != nil {
			return err
		}
		ev.Username = u.Username
		return s.events.UserUpdated.Dispatch(ctx, ev)
	})
	if repository.IsUniqueViolation(err) {
		err = apperr.Wrap(apperr.Invalid, "username or email", takenMessage, err)
	}
	if err != nil {
		return Account{}, fmt.Errorf("update user: %w", err)
	}
	return s.account(u)
}

func (s *Service) account(u *conduit.User) (Account, error) {
	token, err := s.tokens.Issue(u.ID)
	if err != nil {
		return Account{}, err
	}
	return Account{Email: u.Email, Token: token, Username: u.Username, Bio: u.Bio, Image: u.Image}, nil
}
