package observe_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/brisk-go/brisk/libs/observe"
)

func TestAddAdminHandlerServesOnTheAdminListener(t *testing.T) {
	ctx := context.Background()
	tel, err := observe.New(ctx, observe.Options{Service: "brisk-test", AdminAddr: "127.0.0.1:0", SampleEvery: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer tel.Shutdown(ctx)
	calls := 0
	tel.AddAdminHandler("POST /cache/clear", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		calls++
		w.WriteHeader(http.StatusNoContent)
	}))
	if err := tel.Start(ctx); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post("http://"+tel.AdminAddr()+"/cache/clear", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent || calls != 1 {
		t.Fatalf("POST /cache/clear: %d, %d calls", resp.StatusCode, calls)
	}
	resp, err = http.Get("http://" + tel.AdminAddr() + "/cache/clear")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || calls != 1 {
		t.Fatalf("GET /cache/clear: %d, %d calls", resp.StatusCode, calls)
	}
}
