package importer_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/brisk-go/brisk/libs/conduit"
	"github.com/brisk-go/brisk/libs/conduit/importer"
	"github.com/brisk-go/brisk/libs/data/datatest"
)

// A batch is written in a few statements whatever its size (a per-row insert of articles,
// tags or links would send dozens here), duplicates inside a batch and across runs are
// counted, every article gets its tags, and ArticlePublished reaches a batch listener once
// per batch with the stored ids.
func TestImportWritesEachBatchInAFewStatements(t *testing.T) {
	db, counter := datatest.NewCounted(t)
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, "INSERT INTO users (username, email, password_hash) VALUES ('ann', 'ann@example.com', 'x')"); err != nil {
		t.Fatal(err)
	}
	var lines []string
	for i := 1; i <= 40; i++ {
		lines = append(lines, fmt.Sprintf(`{"title":"Post %d","description":"d","body":"b","tagList":["t%d","t%d","common"],"author":"ann"}`, i, i%5, (i+1)%5))
	}
	// Post 1 again (a duplicate in the database or in its batch), Post 30 again.
	lines = append(lines, lines[0], lines[29])
	input := strings.Join(lines, "\n") + "\n"

	ev := conduit.NoEvents()
	var (
		mu        sync.Mutex
		calls     int
		published = map[string]conduit.ArticlePublished{}
	)
	if err := ev.ArticlePublished.ListenBatch("record", func(_ context.Context, es []conduit.ArticlePublished) error {
		mu.Lock()
		defer mu.Unlock()
		calls++
		for _, e := range es {
			published[e.Slug] = e
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	counter.Reset()
	rep, err := importer.Run(ctx, strings.NewReader(input), importer.Options{DB: db, Events: ev, BatchSize: 25})
	if err != nil {
		t.Fatal(err)
	}
	if rep != (importer.Report{Lines: 42, Imported: 40, Duplicates: 2}) {
		t.Fatalf("report %+v, want 42 lines, 40 imported, 2 duplicates", rep)
	}
	// Two batches: an author lookup, then per batch BEGIN, articles, tags, tag ids, links,
	// COMMIT (7 with a savepoint or a driver's extra round trip).
	if n := counter.Load(); n > 1+2*7 {
		t.Errorf("%d statements for 2 batches of 42 lines, want at most %d", n, 1+2*7)
	}
	if calls != 2 || len(published) != 40 {
		t.Fatalf("batch listener: %d calls with %d articles, want 2 calls with 40", calls, len(published))
	}
	got, err := conduit.Tags{}.ForArticles(ctx, db, []int64{published["post-7"].ArticleID, published["post-40"].ArticleID})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"common", "t2", "t3"}; !slices.Equal(got[published["post-7"].ArticleID], want) {
		t.Errorf("post-7 tags %v, want %v", got[published["post-7"].ArticleID], want)
	}
	if want := []string{"common", "t0", "t1"}; !slices.Equal(got[published["post-40"].ArticleID], want) {
		t.Errorf("post-40 tags %v, want %v", got[published["post-40"].ArticleID], want)
	}
	if !slices.Equal(published["post-7"].Tags, []string{"common", "t2", "t3"}) {
		t.Errorf("event tags %v", published["post-7"].Tags)
	}
	for table, want := range map[string]int64{"articles": 40, "tags": 6, "article_tags": 120} {
		if n, err := db.NewSelect().Table(table).Count(ctx); err != nil || n != want {
			t.Errorf("%s: %d rows (%v), want %d", table, n, err, want)
		}
	}

	rep, err = importer.Run(ctx, strings.NewReader(input), importer.Options{DB: db, Events: ev, BatchSize: 25})
	if err != nil || rep != (importer.Report{Lines: 42, Duplicates: 42}) {
		t.Fatalf("second run: %+v, %v; want every line a duplicate", rep, err)
	}
	if calls != 2 {
		t.Fatalf("the second run raised events (%d batch calls)", calls)
	}
}
