package main

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	_ "modernc.org/sqlite" // the plain baseline's SQLite driver, the one Brisk uses
)

// The import mode (--import N) times `worker import` of N generated NDJSON articles (3 tags
// each) beside the plain way of loading the same rows into the same tables: COPY through pgx
// on PostgreSQL, multi-row INSERTs in one transaction on SQLite. Rounds alternate the two on
// emptied tables, so both meet the same indexes and the same machine load.

const (
	importBegin = "<!-- bench:import:begin (written by `go run ./bench/http --import N`; edits inside are replaced) -->"
	importEnd   = "<!-- bench:import:end -->"

	importAuthors = 10
	importTags    = 50
)

// importLine is one generated article, as the NDJSON line and as the stored rows.
type importLine struct {
	Title       string   `json:"title"`
	Description string   `json:"description"`
	Body        string   `json:"body"`
	TagList     []string `json:"tagList"`
	Author      string   `json:"author"`
	slug        string
	authorID    int64
	tagIDs      []int64
}

// importRow is one round's figures for one dialect.
type importRow struct {
	dialect        string
	round          int
	brisk, plain   time.Duration
	others         map[string]time.Duration // the other workers' times (-pgo=off, --base), by name
	briskOut       string
	imported, rows int
}

func generateImport(n int) []importLine {
	out := make([]importLine, n)
	for i := range out {
		a := i % importAuthors
		out[i] = importLineAt(i, fmt.Sprintf("author%d", a))
		out[i].authorID = int64(a + 1)
	}
	return out
}

// importLineAt is generated article i, by author.
func importLineAt(i int, author string) importLine {
	t := []int{i % importTags, (i*7 + 1) % importTags, (i*13 + 2) % importTags}
	if t[1] == t[0] {
		t[1] = (t[1] + 1) % importTags
	}
	for t[2] == t[0] || t[2] == t[1] {
		t[2] = (t[2] + 1) % importTags
	}
	slices.Sort(t)
	l := importLine{
		Title:       fmt.Sprintf("Imported article %d about measured loads", i),
		Description: fmt.Sprintf("What article %d says, in a sentence of ordinary length.", i),
		Body: strings.Repeat(fmt.Sprintf("Paragraph of article %d: a body of a realistic length, several sentences long. ", i), 6) +
			"\n\nThe end.",
		Author: author,
		slug:   fmt.Sprintf("imported-article-%d-about-measured-loads", i),
	}
	for _, x := range t {
		l.TagList = append(l.TagList, fmt.Sprintf("tag%02d", x))
		l.tagIDs = append(l.tagIDs, int64(x+1))
	}
	return l
}

// bulkImport adds n generated articles by the seeded users to the database at dbURL through
// the working tree's `worker import` (the domain's own rules, slugs, tags and events).
func bulkImport(ctx context.Context, dbURL, secret, tmp string, n, users int) error {
	root, err := gitRoot(ctx)
	if err != nil {
		return err
	}
	worker := filepath.Join(tmp, "worker-bulk")
	if _, err := buildApp(ctx, root, worker, "./apps/worker"); err != nil {
		return err
	}
	authors := make([]string, users)
	for i := range authors {
		authors[i] = seededUsername(i)
	}
	file := filepath.Join(tmp, "bulk.ndjson")
	if err := writeLines(file, n, func(i int) *importLine {
		l := importLineAt(i, authors[i%len(authors)])
		return &l
	}); err != nil {
		return err
	}
	defer func() { _ = os.Remove(file) }() // large; the temp dir goes too
	took, out, err := timeImport(ctx, worker, []string{"import", file},
		append(os.Environ(), "DATABASE_URL="+dbURL, "DATABASE_AUTO_MIGRATE=false", "JWT_SECRET="+secret))
	if err != nil {
		return fmt.Errorf("bulk import: %w", err)
	}
	fmt.Printf("bulk import of %d articles: %s (%s)\n", n, took.Round(time.Millisecond), out)
	return nil
}

func writeNDJSON(path string, lines []importLine) error {
	return writeLines(path, len(lines), func(i int) *importLine { return &lines[i] })
}

// writeLines writes line(0) … line(n-1) to path as NDJSON, one at a time (a million generated
// lines are about 600 MB: they are not held in memory).
func writeLines(path string, n int, line func(int) *importLine) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	for i := range n {
		if err := enc.Encode(line(i)); err != nil {
			_ = f.Close()
			return fmt.Errorf("write %s: %w", path, err)
		}
	}
	if err := w.Flush(); err != nil {
		_ = f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}

// importDB is what a round does to one database besides running the worker.
type importDB interface {
	// empty removes the articles, tags, links and jobs, and restarts the ids.
	empty(ctx context.Context) error
	// plain loads the rows of lines the plain way, tags first, and returns how long it took.
	plain(ctx context.Context, lines []importLine) (time.Duration, error)
	// count returns the number of articles and of tag links.
	count(ctx context.Context) (articles, links int, err error)
	close()
}

func runImport(ctx context.Context, o options, n int) error {
	root, err := gitRoot(ctx)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "brisk-bench-import-*")
	if err != nil {
		return fmt.Errorf("temp dir: %w", err)
	}
	defer removeTemp(tmp)
	fmt.Println("building the worker from the working tree")
	worker := filepath.Join(tmp, "worker")
	if _, err := buildApp(ctx, root, worker, "./apps/worker"); err != nil {
		return err
	}
	// Other builds timed in the same rounds, right after the working tree's worker.
	var others []binary
	if o.pgoCompare {
		b := binary{name: "the worker built with -pgo=off", path: filepath.Join(tmp, "worker-nopgo")}
		if _, err := buildApp(ctx, root, b.path, "./apps/worker", "-pgo=off"); err != nil {
			return err
		}
		others = append(others, b)
	}
	if o.base != "" {
		fmt.Printf("building the worker at %s\n", o.base)
		b := binary{name: "the worker at " + o.base, path: filepath.Join(tmp, "worker-base")}
		if _, err := buildBaseApp(ctx, root, o.base, b.path, "./apps/worker"); err != nil {
			return err
		}
		others = append(others, b)
	}
	profile := o.workerPGO
	if profile != "" && !filepath.IsAbs(profile) {
		profile = filepath.Join(root, profile)
	}
	lines := generateImport(n)
	file := filepath.Join(tmp, "articles.ndjson")
	if err := writeNDJSON(file, lines); err != nil {
		return err
	}
	st, _ := os.Stat(file)
	started := time.Now().UTC()
	var rows []importRow
	for _, dialect := range o.dialects {
		dbURL := "sqlite://" + filepath.Join(tmp, "import.db")
		if dialect == dialectPG {
			c, err := freshDatabase(ctx, o.pgURL)
			if err != nil {
				return err
			}
			if err := c.Close(ctx); err != nil {
				return fmt.Errorf("close the set-up connection: %w", err)
			}
			dbURL = o.pgURL
		}
		env := append(os.Environ(), "DATABASE_URL="+dbURL, "DATABASE_AUTO_MIGRATE=true", "JWT_SECRET="+randomHex(32))
		// A first import of an empty file migrates the database.
		empty := filepath.Join(tmp, "empty.ndjson")
		if err := os.WriteFile(empty, nil, 0o644); err != nil {
			return err
		}
		migrate := exec.CommandContext(ctx, worker, "import", empty)
		migrate.Env = env
		if out, err := migrate.CombinedOutput(); err != nil {
			return fmt.Errorf("%s: migrate through the worker: %w\n%s", dialect, err, out)
		}
		db, err := openImportDB(ctx, dialect, dbURL)
		if err != nil {
			return err
		}
		for round := 1; round <= o.rounds; round++ {
			r := importRow{dialect: dialect, round: round}
			if err := db.empty(ctx); err != nil {
				db.close()
				return err
			}
			args := []string{"import", file}
			if profile != "" {
				args = []string{"import", "--cpuprofile", profile, file}
				profile = ""
			}
			var out string
			r.brisk, out, err = timeImport(ctx, worker, args, env)
			if err != nil {
				db.close()
				return fmt.Errorf("%s: %w", dialect, err)
			}
			r.briskOut = out
			if r.imported, r.rows, err = db.count(ctx); err != nil {
				db.close()
				return err
			}
			r.others = map[string]time.Duration{}
			for _, b := range others {
				if err := db.empty(ctx); err != nil {
					db.close()
					return err
				}
				var out string
				if r.others[b.name], out, err = timeImport(ctx, b.path, []string{"import", file}, env); err != nil {
					db.close()
					return fmt.Errorf("%s, %s: %w", dialect, b.name, err)
				}
				fmt.Printf("%s round %d: %s %s (%s)\n", dialect, round, b.name, r.others[b.name].Round(time.Millisecond), out)
			}
			if err := db.empty(ctx); err != nil {
				db.close()
				return err
			}
			if r.plain, err = db.plain(ctx, lines); err != nil {
				db.close()
				return err
			}
			fmt.Printf("%s round %d: worker import %s (%s), plain %s\n", dialect, round, r.brisk.Round(time.Millisecond), r.briskOut, r.plain.Round(time.Millisecond))
			rows = append(rows, r)
		}
		db.close()
	}
	md := importMarkdown(rows, n)
	fmt.Print(md)
	if o.noDocs {
		return nil
	}
	var b strings.Builder
	b.WriteString(importBegin + "\n## Bulk import: `worker import` beside a plain load of the same rows\n\n")
	fmt.Fprintf(&b, "Measured %s on %s. Command (from the repository root):\n\n```\n%s\n```\n\n",
		started.Format("2006-01-02 15:04 UTC"), machine(), commandLine())
	fmt.Fprintf(&b, "%d generated NDJSON lines (%.1f MiB; %d authors, 3 of %d tags each). `worker import` is timed as a process, from start to exit: "+
		"validation, slugs, tags, one ArticlePublished batch per 500 articles with its River jobs (a follower notification per author, a tag recount per batch) "+
		"in the batch's transaction (on PostgreSQL with synchronous_commit off: the import is idempotent). The plain load writes the same tag, article and tag-link rows into the same emptied tables (same indexes) "+
		"and nothing else: COPY through pgx on PostgreSQL, multi-row INSERTs in one transaction on SQLite. Rounds alternate the two; figures are medians.\n\n",
		n, float64(st.Size())/(1<<20), importAuthors, importTags)
	b.WriteString(md)
	b.WriteString(importEnd + "\n")
	return writeMarked(filepath.Join(root, o.docs), importBegin, importEnd, b.String())
}

func importMarkdown(rows []importRow, n int) string {
	var b strings.Builder
	b.WriteString("| database | `worker import` | lines/s | plain load | rows/s | import ÷ plain | goal | met |\n|---|---|---|---|---|---|---|---|\n")
	goals := map[string]float64{dialectPG: 20_000, dialectSQLite: 10_000}
	var notes []string
	var dialects []string
	for _, r := range rows {
		if !slices.Contains(dialects, r.dialect) {
			dialects = append(dialects, r.dialect)
		}
	}
	for _, d := range dialects {
		var brisk, plain []time.Duration
		complete := true
		for _, r := range rows {
			if r.dialect == d {
				brisk, plain = append(brisk, r.brisk), append(plain, r.plain)
				complete = complete && r.imported == n && r.rows == 3*n
			}
		}
		bt, pt := median(brisk), median(plain)
		var names []string
		for _, r := range rows {
			if r.dialect == d {
				for name := range r.others {
					if !slices.Contains(names, name) {
						names = append(names, name)
					}
				}
			}
		}
		slices.Sort(names)
		for _, name := range names {
			var ts []time.Duration
			for _, r := range rows {
				if t, ok := r.others[name]; ok && r.dialect == d {
					ts = append(ts, t)
				}
			}
			ot := median(ts)
			notes = append(notes, fmt.Sprintf("\n%s: %s took %s (median, %.0f lines/s), the working tree's worker %s: %.2f× its time.\n",
				d, name, ot.Round(time.Millisecond), float64(n)/ot.Seconds(), bt.Round(time.Millisecond), bt.Seconds()/ot.Seconds()))
		}
		rate := float64(n) / bt.Seconds()
		met := "**met**"
		if rate < goals[d] {
			met = fmt.Sprintf("**not met** (%.2f× the goal)", rate/goals[d])
		}
		if !complete {
			met = "**not met**: the import did not store every article and tag link"
		}
		fmt.Fprintf(&b, "| %s | %s | %.0f | %s | %.0f | %.2f× the time | ≥ %.0f lines/s | %s |\n",
			d, bt.Round(time.Millisecond), rate, pt.Round(time.Millisecond), float64(n)/pt.Seconds(), bt.Seconds()/pt.Seconds(), goals[d], met)
	}
	for _, n := range notes {
		b.WriteString(n)
	}
	return b.String()
}

// timeImport runs the worker binary with args and returns its wall time and last line.
func timeImport(ctx context.Context, bin string, args, env []string) (time.Duration, string, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = env
	t0 := time.Now()
	out, err := cmd.CombinedOutput()
	d := time.Since(t0)
	if err != nil {
		return 0, "", fmt.Errorf("worker import: %w\n%s", err, out)
	}
	return d, lastLine(string(out)), nil
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return s
}

func openImportDB(ctx context.Context, dialect, dbURL string) (importDB, error) {
	if dialect == dialectPG {
		c, err := pgx.Connect(ctx, dbURL)
		if err != nil {
			return nil, fmt.Errorf("connect: %w", err)
		}
		db := pgImport{c}
		return db, db.authors(ctx)
	}
	sdb, err := sql.Open("sqlite", "file:"+strings.TrimPrefix(dbURL, "sqlite://")+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)")
	if err != nil {
		return nil, fmt.Errorf("open SQLite: %w", err)
	}
	sdb.SetMaxOpenConns(1)
	db := sqliteImport{sdb}
	return db, db.authors(ctx)
}

const authorsSQL = `INSERT INTO users (username, email, password_hash) VALUES ($1, $2, 'x')`

const emptyTables = "article_tags, articles, tags, river_job"

type pgImport struct{ c *pgx.Conn }

func (p pgImport) close() { _ = p.c.Close(context.Background()) }

func (p pgImport) authors(ctx context.Context) error {
	for i := range importAuthors {
		if _, err := p.c.Exec(ctx, authorsSQL, fmt.Sprintf("author%d", i), fmt.Sprintf("author%d@example.com", i)); err != nil {
			return fmt.Errorf("insert author: %w", err)
		}
	}
	return nil
}

func (p pgImport) empty(ctx context.Context) error {
	if _, err := p.c.Exec(ctx, "TRUNCATE "+emptyTables+" RESTART IDENTITY CASCADE"); err != nil {
		return fmt.Errorf("truncate: %w", err)
	}
	_, err := p.c.Exec(ctx, "CHECKPOINT")
	return err
}

func (p pgImport) count(ctx context.Context) (int, int, error) {
	var a, l int
	err := p.c.QueryRow(ctx, "SELECT (SELECT count(*) FROM articles), (SELECT count(*) FROM article_tags)").Scan(&a, &l)
	return a, l, err
}

func (p pgImport) plain(ctx context.Context, lines []importLine) (time.Duration, error) {
	now := time.Now().UTC()
	t0 := time.Now()
	tx, err := p.c.Begin(ctx)
	if err != nil {
		return 0, err
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"tags"}, []string{"id", "name"}, pgx.CopyFromSlice(importTags, func(i int) ([]any, error) {
		return []any{int64(i + 1), fmt.Sprintf("tag%02d", i)}, nil
	})); err != nil {
		return 0, fmt.Errorf("copy tags: %w", err)
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"articles"}, []string{"id", "slug", "title", "description", "body", "author_id", "favorites_count", "created_at", "updated_at"},
		pgx.CopyFromSlice(len(lines), func(i int) ([]any, error) {
			l := &lines[i]
			return []any{int64(i + 1), l.slug, l.Title, l.Description, l.Body, l.authorID, 0, now, now}, nil
		})); err != nil {
		return 0, fmt.Errorf("copy articles: %w", err)
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"article_tags"}, []string{"article_id", "tag_id"}, pgx.CopyFromSlice(3*len(lines), func(i int) ([]any, error) {
		return []any{int64(i/3 + 1), lines[i/3].tagIDs[i%3]}, nil
	})); err != nil {
		return 0, fmt.Errorf("copy tag links: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, err
	}
	return time.Since(t0), nil
}

type sqliteImport struct{ db *sql.DB }

func (s sqliteImport) close() { _ = s.db.Close() }

func (s sqliteImport) authors(ctx context.Context) error {
	for i := range importAuthors {
		if _, err := s.db.ExecContext(ctx, strings.ReplaceAll(strings.ReplaceAll(authorsSQL, "$1", "?"), "$2", "?"), fmt.Sprintf("author%d", i), fmt.Sprintf("author%d@example.com", i)); err != nil {
			return fmt.Errorf("insert author: %w", err)
		}
	}
	return nil
}

func (s sqliteImport) empty(ctx context.Context) error {
	// SQLite has no TRUNCATE: one DELETE per table of emptyTables, in its order.
	for _, stmt := range []string{"DELETE FROM article_tags", "DELETE FROM articles", "DELETE FROM tags", "DELETE FROM river_job"} {
		if _, err := s.db.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("%s: %w", stmt, err)
		}
	}
	_, err := s.db.ExecContext(ctx, "DELETE FROM sqlite_sequence WHERE name IN ('articles', 'tags', 'river_job')")
	return err
}

func (s sqliteImport) count(ctx context.Context) (int, int, error) {
	var a, l int
	err := s.db.QueryRowContext(ctx, "SELECT (SELECT count(*) FROM articles), (SELECT count(*) FROM article_tags)").Scan(&a, &l)
	return a, l, err
}

func (s sqliteImport) plain(ctx context.Context, lines []importLine) (time.Duration, error) {
	now := time.Now().UTC()
	t0 := time.Now()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer func() { _ = tx.Rollback() }()
	insert := func(head string, cols, n int, row func(i int) []any) error {
		const per = 500
		for start := 0; start < n; start += per {
			end := min(start+per, n)
			var q strings.Builder
			q.WriteString(head)
			args := make([]any, 0, (end-start)*cols)
			for i := start; i < end; i++ {
				if i > start {
					q.WriteString(",")
				}
				q.WriteString("(" + strings.TrimSuffix(strings.Repeat("?,", cols), ",") + ")")
				args = append(args, row(i)...)
			}
			if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
				return fmt.Errorf("%s: %w", head, err)
			}
		}
		return nil
	}
	if err := insert("INSERT INTO tags (id, name) VALUES ", 2, importTags, func(i int) []any {
		return []any{int64(i + 1), fmt.Sprintf("tag%02d", i)}
	}); err != nil {
		return 0, err
	}
	if err := insert("INSERT INTO articles (id, slug, title, description, body, author_id, favorites_count, created_at, updated_at) VALUES ", 9, len(lines), func(i int) []any {
		l := &lines[i]
		return []any{int64(i + 1), l.slug, l.Title, l.Description, l.Body, l.authorID, 0, now, now}
	}); err != nil {
		return 0, err
	}
	if err := insert("INSERT INTO article_tags (article_id, tag_id) VALUES ", 2, 3*len(lines), func(i int) []any {
		return []any{int64(i/3 + 1), lines[i/3].tagIDs[i%3]}
	}); err != nil {
		return 0, err
	}
	if err := tx.Commit(); err != nil {
		return 0, err
	}
	return time.Since(t0), nil
}
