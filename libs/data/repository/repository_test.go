package repository_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/brisk-go/brisk/libs/data/datatest"
	"github.com/brisk-go/brisk/libs/data/repository"
)

func user(i int) testUser {
	now := time.Date(2026, 1, 2, 3, 4, 5, 123456000, time.UTC)
	return testUser{
		Username: fmt.Sprint("user", i), Email: fmt.Sprintf("user%d@example.com", i),
		PasswordHash: "x", CreatedAt: now, UpdatedAt: now,
	}
}

func TestCRUD(t *testing.T) {
	t.Parallel()
	db := datatest.New(t)
	ctx := t.Context()
	repo := repository.New[testUser]()

	u := user(1)
	if err := repo.Create(ctx, db, &u); err != nil {
		t.Fatal(err)
	}
	if u.ID == 0 {
		t.Fatal("Create did not fill in the id")
	}
	got, err := repo.FindByID(ctx, db, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Username != "user1" || !got.CreatedAt.Equal(u.CreatedAt) {
		t.Fatalf("read back %+v", got)
	}

	// Update with columns writes only those.
	got.Bio, got.Email = "hello", "changed@example.com"
	if err := repo.Update(ctx, db, got, "bio"); err != nil {
		t.Fatal(err)
	}
	again, _ := repo.FindByID(ctx, db, u.ID)
	if again.Bio != "hello" || again.Email != "user1@example.com" {
		t.Fatalf("after column update: %+v", again)
	}
	// Update without columns writes all.
	if err := repo.Update(ctx, db, got); err != nil {
		t.Fatal(err)
	}
	if again, _ = repo.FindByID(ctx, db, u.ID); again.Email != "changed@example.com" {
		t.Fatalf("after full update: %+v", again)
	}

	if err := repo.Delete(ctx, db, u.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := repo.FindByID(ctx, db, u.ID); !errors.Is(err, repository.ErrNotFound) {
		t.Fatalf("find after delete: %v", err)
	}
	if err := repo.Delete(ctx, db, u.ID); !errors.Is(err, repository.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
	ghost := user(99)
	ghost.ID = 424242
	if err := repo.Update(ctx, db, &ghost); !errors.Is(err, repository.ErrNotFound) {
		t.Fatalf("update of a missing row: %v", err)
	}
}

func TestFindByIDsAndPaginate(t *testing.T) {
	t.Parallel()
	db := datatest.New(t)
	ctx := t.Context()
	repo := repository.New[testUser]()
	users := make([]testUser, 7)
	for i := range users {
		users[i] = user(i)
	}
	if err := repo.CreateMany(ctx, db, users); err != nil {
		t.Fatal(err)
	}
	ids := make([]int64, len(users))
	for i, u := range users {
		if u.ID == 0 {
			t.Fatalf("CreateMany left user %d without an id", i)
		}
		ids[i] = u.ID
	}

	found, err := repo.FindByIDs(ctx, db, []int64{ids[1], ids[3], 999999})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, u := range found {
		names = append(names, u.Username)
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"user1", "user3"}) {
		t.Fatalf("FindByIDs: %v", names)
	}
	if none, err := repo.FindByIDs(ctx, db, nil); err != nil || len(none) != 0 {
		t.Fatalf("FindByIDs(nil) = %v, %v", none, err)
	}

	// Newest id first, pages do not overlap, the total is of all matches.
	page, total, err := repo.Paginate(ctx, db, repository.Page{Limit: 3, Offset: 0}, nil)
	if err != nil || total != 7 || len(page) != 3 || page[0].ID != ids[6] || page[2].ID != ids[4] {
		t.Fatalf("first page: %v total %d err %v", page, total, err)
	}
	page, _, _ = repo.Paginate(ctx, db, repository.Page{Limit: 3, Offset: 6}, nil)
	if len(page) != 1 || page[0].ID != ids[0] {
		t.Fatalf("last page: %v", page)
	}
	page, total, _ = repo.Paginate(ctx, db, repository.Page{Limit: 3, Offset: 50}, nil)
	if len(page) != 0 || total != 7 {
		t.Fatalf("past the end: %v total %d", page, total)
	}
	page, total, _ = repo.Paginate(ctx, db, repository.Page{Limit: 0}, nil)
	if len(page) != 0 || total != 7 {
		t.Fatalf("limit 0: %v total %d", page, total)
	}
	odd := func(q *bun.SelectQuery) *bun.SelectQuery {
		return q.Where("username IN (?)", bun.List([]string{"user1", "user3", "user5"})).OrderExpr("username ASC")
	}
	page, total, err = repo.Paginate(ctx, db, repository.Page{Limit: 2}, odd)
	if err != nil || total != 3 || len(page) != 2 || page[0].Username != "user1" || page[1].Username != "user3" {
		t.Fatalf("filtered page: %v total %d err %v", page, total, err)
	}
}

func TestIsUniqueViolation(t *testing.T) {
	t.Parallel()
	db := datatest.New(t)
	ctx := t.Context()
	repo := repository.New[testUser]()
	a := user(1)
	if err := repo.Create(ctx, db, &a); err != nil {
		t.Fatal(err)
	}
	dup := user(1)
	err := repo.Create(ctx, db, &dup)
	if err == nil || !repository.IsUniqueViolation(err) {
		t.Fatalf("duplicate username: err %v, unique violation %v", err, repository.IsUniqueViolation(err))
	}
	// A different constraint failure is not a unique violation.
	_, err = db.NewInsert().Model(&testFollow{FollowerID: 12345, FolloweeID: 67890}).Exec(ctx)
	if err == nil || repository.IsUniqueViolation(err) {
		t.Fatalf("foreign-key failure: err %v, unique violation %v", err, repository.IsUniqueViolation(err))
	}
	if repository.IsUniqueViolation(nil) || repository.IsUniqueViolation(errors.New("UNIQUE")) {
		t.Fatal("non-driver errors classified as unique violations")
	}
}
