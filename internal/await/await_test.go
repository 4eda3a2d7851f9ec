package await

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

// fakeTB records a Fatalf instead of stopping the goroutine, so a failure can be observed.
type fakeTB struct {
	testing.TB
	failed string
}

func (f *fakeTB) Helper()                           {}
func (f *fakeTB) Fatalf(format string, args ...any) { f.failed = fmt.Sprintf(format, args...) }

func TestRecv(t *testing.T) {
	ch := make(chan int, 1)
	ch <- 7
	var tb fakeTB
	if v := Recv(&tb, ch, time.Second); v != 7 || tb.failed != "" {
		t.Fatalf("Recv = %d, failure %q; want 7 and none", v, tb.failed)
	}
	start := time.Now()
	Recv(&tb, ch, 20*time.Millisecond)
	if tb.failed == "" {
		t.Fatal("Recv on an empty channel did not fail")
	}
	if time.Since(start) < 20*time.Millisecond {
		t.Fatal("Recv failed before its bound")
	}
}

func TestWithin(t *testing.T) {
	ch := make(chan string)
	go func() { ch <- "x" }()
	if v, ok := Within(ch, 5*time.Second); !ok || v != "x" {
		t.Fatalf("Within = %q, %v", v, ok)
	}
	if _, ok := Within(ch, 10*time.Millisecond); ok {
		t.Fatal("Within on a silent channel reported a value")
	}
}

func TestSend(t *testing.T) {
	ch := make(chan int, 1)
	var tb fakeTB
	Send(&tb, ch, 1, time.Second)
	if tb.failed != "" || len(ch) != 1 {
		t.Fatalf("Send: failure %q, %d queued", tb.failed, len(ch))
	}
	Send(&tb, ch, 2, 10*time.Millisecond) // full
	if tb.failed == "" {
		t.Fatal("Send on a full channel did not fail")
	}
}

func TestWait(t *testing.T) {
	var wg sync.WaitGroup
	var tb fakeTB
	Wait(&tb, &wg, time.Second)
	if tb.failed != "" {
		t.Fatalf("Wait on a done group failed: %s", tb.failed)
	}
	wg.Add(1)
	Wait(&tb, &wg, 10*time.Millisecond)
	if tb.failed == "" {
		t.Fatal("Wait on a pending group did not fail")
	}
	wg.Done() // lets the waiting goroutine go
}

func TestReady(t *testing.T) {
	ch := make(chan int, 1)
	var tb fakeTB
	Ready(&tb, ch)
	if tb.failed == "" {
		t.Fatal("Ready on an empty channel did not fail")
	}
	tb.failed = ""
	if allocs := testing.AllocsPerRun(100, func() {
		ch <- 3
		if Ready(&tb, ch) != 3 {
			panic("wrong value")
		}
	}); allocs != 0 || tb.failed != "" {
		t.Fatalf("Ready: %v allocations, failure %q", allocs, tb.failed)
	}
}
