// Package importer bulk-loads articles from NDJSON (one JSON article per line) through a
// perfcore pipeline: validate → transform → enrich → write in batches. A line that fails
// validation or names an unknown author is reported with its line number and skipped; the
// rest are imported. Writing is idempotent: an article whose slug exists is counted as a
// duplicate, so re-running an import after a failure is safe.
package importer

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/uptrace/bun"

	"github.com/brisk-go/brisk/libs/conduit"
	"github.com/brisk-go/brisk/libs/conduit/articles"
	"github.com/brisk-go/brisk/libs/data"
	"github.com/brisk-go/brisk/libs/perfcore/pipeline"
	"github.com/brisk-go/brisk/migrations"
)

// Input is one line of the file.
type Input struct {
	Slug        string   `json:"slug"` // optional: derived from the title when empty
	Title       string   `json:"title"`
	Description string   `json:"description"`
	Body        string   `json:"body"`
	TagList     []string `json:"tagList"`
	Author      string   `json:"author"` // username of an existing user
}

// DefaultBatchSize is the number of articles written per transaction: large enough that
// commits are rare, small enough that one batch's statements stay well under a megabyte or so
// per kilobyte of body.
const DefaultBatchSize = 500

// maxLine bounds one line of the file.
const maxLine = 1 << 20

// Report counts what happened to the lines.
type Report struct {
	Lines      int // lines read (blank ones excluded)
	Imported   int
	Duplicates int // slug already present
	Invalid    int
}

// Options configure Run.
type Options struct {
	DB *bun.DB
	// Events receives ArticlePublished for every imported article, in its batch's transaction,
	// as POST /api/articles raises it: the same listeners (jobs, cache) react. Nil: none.
	Events    *conduit.Events
	BatchSize int // articles per transaction (default DefaultBatchSize)
	Now       func() time.Time
	// Invalid is called for each skipped line (from several goroutines one at a time).
	Invalid func(line int, reason string)
	// Progress is called after each batch with the bytes read so far and the counts (from
	// several goroutines one at a time).
	Progress func(bytesRead int64, r Report)
}

type line struct {
	n   int
	raw []byte
}

type article struct {
	line   int
	in     Input
	draft  articles.Draft
	slug   string
	author int64
}

// Run imports r. It returns the report and the first error that stopped it (a database
// failure, or ctx's end); invalid lines do not stop it.
func Run(ctx context.Context, r io.Reader, o Options) (Report, error) {
	if o.BatchSize <= 0 {
		o.BatchSize = DefaultBatchSize
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Events == nil {
		o.Events = conduit.NoEvents()
	}
	var (
		mu  sync.Mutex
		rep Report
	)
	invalid := func(n int, reason string) error {
		mu.Lock()
		rep.Invalid++
		if o.Invalid != nil {
			o.Invalid(n, reason)
		}
		mu.Unlock()
		return pipeline.ErrSkip
	}
	cr := &countingReader{r: r}
	var readErr error
	src := func(yield func(line) bool) {
		sc := bufio.NewScanner(cr)
		sc.Buffer(make([]byte, 64*1024), maxLine)
		n := 0
		for sc.Scan() {
			n++
			b := sc.Bytes()
			if len(strings.TrimSpace(string(b))) == 0 {
				continue
			}
			mu.Lock()
			rep.Lines++
			mu.Unlock()
			if !yield(line{n: n, raw: append([]byte(nil), b...)}) {
				return
			}
		}
		readErr = sc.Err()
	}

	validate := pipeline.NewStage("validate", func(_ context.Context, l line) (article, error) {
		var in Input
		dec := json.NewDecoder(strings.NewReader(string(l.raw)))
		if err := dec.Decode(&in); err != nil {
			return article{}, invalid(l.n, "not a JSON object: "+err.Error())
		}
		if strings.TrimSpace(in.Author) == "" {
			return article{}, invalid(l.n, "author is required")
		}
		// The rules of POST /api/articles: the same limits, the same tag rule.
		d, err := articles.Prepare(articles.CreateInput{Title: in.Title, Description: in.Description, Body: in.Body, TagList: in.TagList})
		if err != nil {
			return article{}, invalid(l.n, err.Error())
		}
		return article{line: l.n, in: in, draft: d}, nil
	}, pipeline.Workers(2))

	transform := pipeline.NewStage("transform", func(_ context.Context, a article) (article, error) {
		// The API's slug: a given one is kept (an import may carry the slugs of another
		// system); otherwise the title's, by the one Slugify.
		a.slug = strings.TrimSpace(a.in.Slug)
		if a.slug == "" {
			a.slug = articles.Slugify(a.draft.Title)
		}
		return a, nil
	})

	authors := newAuthorCache(o.DB)
	enrich := pipeline.NewStage("enrich", func(ctx context.Context, a article) (article, error) {
		id, ok, err := authors.lookup(ctx, a.in.Author)
		if err != nil {
			return a, err
		}
		if !ok {
			return a, invalid(a.line, fmt.Sprintf("author %q does not exist", a.in.Author))
		}
		a.author = id
		return a, nil
	})

	p := pipeline.Then(pipeline.Then(pipeline.From("import", validate), transform), enrich)
	// Batches are written on writer goroutines while the pipeline reads, validates and looks
	// up the next one: the database's time and the parsing's overlap. PostgreSQL takes two
	// batches at once; SQLite has one writer.
	writers := 1
	if data.Dialect(o.DB) == migrations.Postgres {
		writers = 2
	}
	wctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	batches := make(chan []article, writers)
	var (
		wg      sync.WaitGroup
		errOnce sync.Once
		werr    error
	)
	for range writers {
		wg.Go(func() {
			for b := range batches {
				if wctx.Err() != nil {
					continue // drain after a failure
				}
				imported, dups, err := write(wctx, o, b)
				if err != nil {
					errOnce.Do(func() { werr = err })
					cancel(err)
					continue
				}
				mu.Lock()
				rep.Imported += imported
				rep.Duplicates += dups
				if o.Progress != nil {
					o.Progress(cr.n(), rep)
				}
				mu.Unlock()
			}
		})
	}
	batch := make([]article, 0, o.BatchSize)
	send := func(ctx context.Context) error {
		if len(batch) == 0 {
			return nil
		}
		select {
		case batches <- batch:
			batch = make([]article, 0, o.BatchSize)
			return nil
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
	err := p.Run(wctx, src, func(ctx context.Context, a article) error {
		batch = append(batch, a)
		if len(batch) == o.BatchSize {
			return send(ctx)
		}
		return nil
	})
	if err == nil {
		err = send(wctx)
	}
	close(batches)
	wg.Wait()
	if werr != nil {
		err = werr // the cause; the pipeline's error is then only its cancellation
	}
	if err == nil && readErr != nil {
		err = fmt.Errorf("import: read: %w", readErr)
	}
	mu.Lock()
	defer mu.Unlock()
	if o.Progress != nil && err == nil {
		o.Progress(cr.n(), rep)
	}
	return rep, err
}

// write stores one batch in one transaction, in a few statements whatever its size: one
// multi-row insert of the articles (RETURNING the ids of those that were new), one of the
// batch's distinct tags and one query for their ids, one of the tag links, and the events'
// jobs in one more (the listeners' batch insert). It reports how many were new.
func write(ctx context.Context, o Options, batch []article) (imported, dups int, err error) {
	now := o.Now().UTC()
	// Within the batch, the first line with a slug wins, as it would line by line.
	rows := make([]conduit.Article, 0, len(batch))
	bySlug := make(map[string]*article, len(batch))
	for i := range batch {
		a := &batch[i]
		if _, seen := bySlug[a.slug]; seen {
			dups++
			continue
		}
		bySlug[a.slug] = a
		rows = append(rows, conduit.Article{
			Slug: a.slug, Title: a.draft.Title, Description: a.draft.Description, Body: a.draft.Body,
			AuthorID: a.author, CreatedAt: now, UpdatedAt: now,
		})
	}
	// In slug order, so that two writers whose batches share slugs lock them in one order.
	slices.SortFunc(rows, func(a, b conduit.Article) int { return strings.Compare(a.Slug, b.Slug) })
	inBatch := dups
	pg := data.Dialect(o.DB) == migrations.Postgres
	err = conduit.InTx(ctx, o.DB, func(ctx context.Context, tx bun.Tx) error {
		imported, dups = 0, inBatch
		if pg {
			// An import is idempotent: a crash can lose only the last batches committed,
			// whole (with their jobs), and running it again adds them. So the commit does
			// not wait for the WAL to reach the disk, which was most of an import's time.
			if _, err := tx.ExecContext(ctx, "SET LOCAL synchronous_commit = off"); err != nil {
				return fmt.Errorf("set synchronous_commit: %w", err)
			}
		}
		var created []struct {
			ID   int64  `bun:"id"`
			Slug string `bun:"slug"`
		}
		if err := tx.NewInsert().Model(&rows).On("CONFLICT (slug) DO NOTHING").Returning("id, slug").Scan(ctx, &created); err != nil {
			return fmt.Errorf("insert %d articles (lines %d–%d): %w", len(rows), batch[0].line, batch[len(batch)-1].line, err)
		}
		ids := make(map[string]int64, len(created))
		for _, c := range created {
			ids[c.Slug] = c.ID
		}
		imported, dups = len(created), dups+len(rows)-len(created)
		if imported == 0 {
			return nil
		}
		tagIDs, err := upsertTags(ctx, tx, batch, ids)
		if err != nil {
			return err
		}
		// Events and links in line order.
		published := make([]conduit.ArticlePublished, 0, imported)
		var links []conduit.ArticleTag
		for i := range batch {
			a := &batch[i]
			id, ok := ids[a.slug]
			if !ok || bySlug[a.slug] != a {
				continue
			}
			published = append(published, conduit.ArticlePublished{ArticleID: id, AuthorID: a.author, Slug: a.slug, Tags: a.draft.Tags})
			for _, t := range a.draft.Tags {
				links = append(links, conduit.ArticleTag{ArticleID: id, TagID: tagIDs[t]})
			}
		}
		if len(links) > 0 {
			if _, err := tx.NewInsert().Model(&links).On("CONFLICT DO NOTHING").Exec(ctx); err != nil {
				return fmt.Errorf("tag %d articles: %w", len(published), err)
			}
		}
		return o.Events.ArticlePublished.DispatchBatch(ctx, published)
	})
	if err != nil {
		return 0, 0, fmt.Errorf("import: write batch: %w", err)
	}
	return imported, dups, nil
}

// upsertTags makes sure every tag of the batch's new articles (those in ids) exists, and
// returns the ids of all of them by name. The names are inserted in sorted order, as the API
// does, so that concurrent writers take the tags' locks in one order and cannot deadlock.
func upsertTags(ctx context.Context, tx bun.Tx, batch []article, ids map[string]int64) (map[string]int64, error) {
	var names []string
	for i := range batch {
		if _, ok := ids[batch[i].slug]; ok {
			names = append(names, batch[i].draft.Tags...)
		}
	}
	if len(names) == 0 {
		return nil, nil
	}
	slices.Sort(names)
	names = slices.Compact(names)
	rows := make([]conduit.Tag, len(names))
	for i, n := range names {
		rows[i] = conduit.Tag{Name: n}
	}
	if _, err := tx.NewInsert().Model(&rows).On("CONFLICT (name) DO NOTHING").Returning("NULL").Exec(ctx); err != nil {
		return nil, fmt.Errorf("insert %d tags: %w", len(rows), err)
	}
	var found []conduit.Tag
	if err := tx.NewSelect().Model(&found).Column("id", "name").Where("name IN (?)", bun.List(names)).Scan(ctx); err != nil {
		return nil, fmt.Errorf("find %d tags: %w", len(names), err)
	}
	tagIDs := make(map[string]int64, len(found))
	for _, t := range found {
		tagIDs[t.Name] = t.ID
	}
	if len(tagIDs) != len(names) {
		return nil, fmt.Errorf("find %d tags: found %d", len(names), len(tagIDs))
	}
	return tagIDs, nil
}

type authorCache struct {
	db *bun.DB
	mu sync.Mutex
	m  map[string]int64 // 0: known not to exist
}

func newAuthorCache(db *bun.DB) *authorCache { return &authorCache{db: db, m: map[string]int64{}} }

func (c *authorCache) lookup(ctx context.Context, username string) (int64, bool, error) {
	c.mu.Lock()
	id, ok := c.m[username]
	c.mu.Unlock()
	if ok {
		return id, id != 0, nil
	}
	var ids []int64
	if err := c.db.NewSelect().Table("users").Column("id").Where("username = ?", username).Scan(ctx, &ids); err != nil {
		return 0, false, fmt.Errorf("import: find author %q: %w", username, err)
	}
	if len(ids) > 0 {
		id = ids[0]
	}
	c.mu.Lock()
	c.m[username] = id
	c.mu.Unlock()
	return id, id != 0, nil
}

type countingReader struct {
	r  io.Reader
	mu sync.Mutex
	c  int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.mu.Lock()
	c.c += int64(n)
	c.mu.Unlock()
	if errors.Is(err, io.EOF) {
		return n, io.EOF // unwrapped, as bufio.Scanner expects
	}
	return n, err
}

func (c *countingReader) n() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.c
}
