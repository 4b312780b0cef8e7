// Package seed fills a database with realistic Conduit data for load tests: users who follow
// each other, articles with tags, and favorites, inserted in batches (one transaction per
// batch) with a progress bar on a terminal and plain progress lines otherwise.
//
// Every seeded user's password is Password. Names carry a per-run token, so seeding twice
// into the same database adds to it instead of colliding.
package seed

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/uptrace/bun"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/term"

	"github.com/brisk-go/brisk/libs/conduit"
	"github.com/brisk-go/brisk/libs/conduit/articles"
	"github.com/brisk-go/brisk/libs/conduit/auth"
)

// Password is the password of every seeded user.
const Password = "password"

// BatchSize is how many rows one INSERT carries (well under both dialects' parameter limits).
const BatchSize = 500

// Options tunes Run beyond the counts; the zero value is what `api seed` uses.
type Options struct {
	// PasswordCost is the bcrypt cost of the one hash all users share (DefaultCost when 0).
	PasswordCost int
	// Rand seeds the generator; nil picks a random seed.
	Rand *rand.Rand
	// Now anchors the spread of creation times (time.Now when nil).
	Now func() time.Time
}

// Run inserts users users and articles articles (written by those users) into db.
func Run(ctx context.Context, db *bun.DB, users, articles int, out io.Writer) error {
	return RunWith(ctx, db, users, articles, out, Options{})
}

// RunWith is Run with Options.
func RunWith(ctx context.Context, db *bun.DB, users, articleCount int, out io.Writer, opt Options) error {
	if users < 0 || articleCount < 0 {
		return fmt.Errorf("seed: counts must not be negative (users %d, articles %d)", users, articleCount)
	}
	if articleCount > 0 && users == 0 {
		return errors.New("seed: articles need at least one user to write them")
	}
	if out == nil {
		out = io.Discard
	}
	s, err := newSeeder(ctx, db, out, opt)
	if err != nil {
		return err
	}
	p := newProgress(out, int64(users+articleCount))
	userIDs, err := s.users(ctx, users, p)
	if err != nil {
		return err
	}
	if err := s.follows(ctx, userIDs); err != nil {
		return err
	}
	if err := s.articles(ctx, articleCount, userIDs, p); err != nil {
		return err
	}
	p.finish()
	_, err = fmt.Fprintf(out, "seed: done: %d users, %d articles (password %q)\n", users, articleCount, Password)
	return err
}

type seeder struct {
	db     *bun.DB
	out    io.Writer
	rng    *rand.Rand
	now    time.Time
	runID  string
	hash   string
	tagIDs []int64
}

func newSeeder(ctx context.Context, db *bun.DB, out io.Writer, opt Options) (*seeder, error) {
	rng := opt.Rand
	if rng == nil {
		rng = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	now := time.Now
	if opt.Now != nil {
		now = opt.Now
	}
	cost := opt.PasswordCost
	if cost == 0 {
		cost = bcrypt.DefaultCost
	}
	hash, err := auth.Passwords{Cost: cost}.Hash(ctx, Password)
	if err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	var id [3]byte
	if _, err := crand.Read(id[:]); err != nil {
		return nil, fmt.Errorf("seed: run id: %w", err)
	}
	return &seeder{db: db, out: out, rng: rng, now: now().UTC(), runID: hex.EncodeToString(id[:]), hash: hash}, nil
}

// past returns a creation time within the last year.
func (s *seeder) past() time.Time {
	return s.now.Add(-time.Duration(s.rng.Int64N(int64(365 * 24 * time.Hour))))
}

func (s *seeder) users(ctx context.Context, n int, p *progress) ([]int64, error) {
	ids := make([]int64, 0, n)
	repo := conduit.Users{}
	for start := 0; start < n; start += BatchSize {
		batch := make([]conduit.User, 0, min(BatchSize, n-start))
		for i := start; i < start+cap(batch); i++ {
			first, last := pick(s.rng, firstNames), pick(s.rng, lastNames)
			name := fmt.Sprintf("%s.%s.%s%d", strings.ToLower(first), strings.ToLower(last), s.runID, i)
			at := s.past()
			batch = append(batch, conduit.User{
				Username: name, Email: name + "@example.com", PasswordHash: s.hash,
				Bio:       fmt.Sprintf("%s %s %s", first, last, pick(s.rng, bios)),
				Image:     fmt.Sprintf("https://api.realworld.io/images/smiley-cyrus.jpeg?u=%d", i),
				CreatedAt: at, UpdatedAt: at,
			})
		}
		err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			return repo.CreateMany(ctx, tx, batch)
		})
		if err != nil {
			return nil, fmt.Errorf("seed: users %d-%d: %w", start, start+len(batch), err)
		}
		for _, u := range batch {
			ids = append(ids, u.ID)
		}
		p.add("users", len(batch))
	}
	return ids, nil
}

// follows makes every user follow a handful of others, so feeds have content.
func (s *seeder) follows(ctx context.Context, userIDs []int64) error {
	if len(userIDs) < 2 {
		return nil
	}
	var batch []conduit.Follow
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		_, err := s.db.NewInsert().Model(&batch).On("CONFLICT DO NOTHING").Exec(ctx)
		batch = batch[:0]
		if err != nil {
			return fmt.Errorf("seed: follows: %w", err)
		}
		return nil
	}
	for _, id := range userIDs {
		for range min(5, len(userIDs)-1) {
			other := userIDs[s.rng.IntN(len(userIDs))]
			if other == id {
				continue
			}
			batch = append(batch, conduit.Follow{FollowerID: id, FolloweeID: other, CreatedAt: s.now})
		}
		if len(batch) >= BatchSize {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

func (s *seeder) ensureTags(ctx context.Context) error {
	tags := make([]conduit.Tag, len(tagNames))
	for i, n := range tagNames {
		tags[i].Name = n
	}
	if _, err := s.db.NewInsert().Model(&tags).On("CONFLICT (name) DO NOTHING").Returning("NULL").Exec(ctx); err != nil {
		return fmt.Errorf("seed: tags: %w", err)
	}
	var ids []int64
	if err := s.db.NewSelect().Model((*conduit.Tag)(nil)).Column("id").Where("name IN (?)", bun.List(tagNames)).Scan(ctx, &ids); err != nil {
		return fmt.Errorf("seed: tags: %w", err)
	}
	s.tagIDs = ids
	return nil
}

func (s *seeder) articles(ctx context.Context, n int, userIDs []int64, p *progress) error {
	if n == 0 {
		return nil
	}
	if err := s.ensureTags(ctx); err != nil {
		return err
	}
	repo := conduit.Articles{}
	for start := 0; start < n; start += BatchSize {
		batch := make([]conduit.Article, 0, min(BatchSize, n-start))
		favs := make([][]int64, 0, cap(batch))
		for i := start; i < start+cap(batch); i++ {
			title := fmt.Sprintf("%s %s %s", pick(s.rng, titleStarts), pick(s.rng, titleTopics), pick(s.rng, titleEnds))
			at := s.past()
			fans := s.fans(userIDs)
			batch = append(batch, conduit.Article{
				Slug:  fmt.Sprintf("%s-%s%d", articles.Slugify(title), s.runID, i),
				Title: title, Description: pick(s.rng, descriptions), Body: s.body(),
				AuthorID: userIDs[s.rng.IntN(len(userIDs))], FavoritesCount: len(fans),
				CreatedAt: at, UpdatedAt: at,
			})
			favs = append(favs, fans)
		}
		err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			if err := repo.CreateMany(ctx, tx, batch); err != nil {
				return err
			}
			return s.links(ctx, tx, batch, favs)
		})
		if err != nil {
			return fmt.Errorf("seed: articles %d-%d: %w", start, start+len(batch), err)
		}
		p.add("articles", len(batch))
	}
	return nil
}

// fans picks the distinct users who favorite one article: mostly none or a few.
func (s *seeder) fans(userIDs []int64) []int64 {
	k := min(len(userIDs), s.rng.IntN(4)*s.rng.IntN(3))
	seen := make(map[int64]bool, k)
	out := make([]int64, 0, k)
	for len(out) < k {
		id := userIDs[s.rng.IntN(len(userIDs))]
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// links inserts the tag links and favorites of a batch of just-created articles.
func (s *seeder) links(ctx context.Context, tx bun.Tx, batch []conduit.Article, favs [][]int64) error {
	var tagLinks []conduit.ArticleTag
	var favorites []conduit.Favorite
	for i, a := range batch {
		for _, j := range s.rng.Perm(len(s.tagIDs))[:s.rng.IntN(5)] {
			tagLinks = append(tagLinks, conduit.ArticleTag{ArticleID: a.ID, TagID: s.tagIDs[j]})
		}
		for _, u := range favs[i] {
			favorites = append(favorites, conduit.Favorite{UserID: u, ArticleID: a.ID, CreatedAt: a.CreatedAt})
		}
	}
	for start := 0; start < len(tagLinks); start += BatchSize {
		chunk := tagLinks[start:min(start+BatchSize, len(tagLinks))]
		if _, err := tx.NewInsert().Model(&chunk).Exec(ctx); err != nil {
			return fmt.Errorf("tag links: %w", err)
		}
	}
	for start := 0; start < len(favorites); start += BatchSize {
		chunk := favorites[start:min(start+BatchSize, len(favorites))]
		if _, err := tx.NewInsert().Model(&chunk).Exec(ctx); err != nil {
			return fmt.Errorf("favorites: %w", err)
		}
	}
	return nil
}

func (s *seeder) body() string {
	n := 3 + s.rng.IntN(6)
	paras := make([]string, n)
	for i := range paras {
		paras[i] = pick(s.rng, paragraphs)
	}
	return strings.Join(paras, "\n\n")
}

func pick(rng *rand.Rand, from []string) string { return from[rng.IntN(len(from))] }

// progress draws a bar on a terminal and prints a line per batch elsewhere (logs, CI).
type progress struct {
	bar   *progressbar.ProgressBar
	out   io.Writer
	total int64
	done  int64
}

func newProgress(out io.Writer, total int64) *progress {
	p := &progress{out: out, total: total}
	if f, ok := out.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.bar = progressbar.NewOptions64(total,
			progressbar.OptionSetWriter(out),
			progressbar.OptionSetDescription("seeding"),
			progressbar.OptionShowCount(),
			progressbar.OptionSetWidth(40),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish(),
		)
	}
	return p
}

func (p *progress) add(what string, n int) {
	p.done += int64(n)
	if p.bar != nil {
		_ = p.bar.Add(n)
		return
	}
	// Progress lines are a courtesy: the final "done" line reports a broken output.
	_, _ = fmt.Fprintf(p.out, "seed: %s: %d/%d rows\n", what, p.done, p.total)
}

func (p *progress) finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
	}
}
