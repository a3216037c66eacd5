package sweep

import (
	"context"
	"math"
	"slices"
	"sync"
	"testing"
	"time"
)

// fakeClock is a clock that moves only when a sleeper sleeps.
type fakeClock struct {
	mu     sync.Mutex
	t      time.Time
	sleeps []time.Duration
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err // a cancelled sleep ends at once
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sleeps = append(c.sleeps, d)
	c.t = c.t.Add(d)
	return ctx.Err()
}

func fakeLimiter(rate float64, burst int) (*Limiter, *fakeClock) {
	c := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	l := NewLimiter(rate, burst)
	l.now, l.sleep = c.now, c.sleep
	return l, c
}

func TestLimiterPaces(t *testing.T) {
	l, c := fakeLimiter(100, 1)
	start := c.now()
	for range 1000 {
		if err := l.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	// The first token is in the bucket; 999 more at 10ms each.
	if el := c.now().Sub(start); math.Abs(el.Seconds()-9.99) > 0.001 {
		t.Fatalf("1000 tokens at 100/s took %v of clock, want 9.99s", el)
	}
	if len(c.sleeps) != 999 {
		t.Fatalf("%d sleeps, want 999", len(c.sleeps))
	}
}

func TestLimiterBurstAndRefillCap(t *testing.T) {
	l, c := fakeLimiter(10, 5)
	for i := range 5 {
		l.Wait(context.Background())
		if len(c.sleeps) != 0 {
			t.Fatalf("token %d of the burst waited", i)
		}
	}
	l.Wait(context.Background())
	if len(c.sleeps) != 1 || c.sleeps[0] != 100*time.Millisecond {
		t.Fatalf("sixth token: sleeps %v, want one of 100ms", c.sleeps)
	}
	// An idle hour saves up the burst, not 36,000 tokens.
	c.t = c.t.Add(time.Hour)
	c.sleeps = nil
	for range 8 {
		l.Wait(context.Background())
	}
	if len(c.sleeps) != 3 {
		t.Fatalf("after an idle hour, 8 tokens slept %d times, want 3 (burst 5)", len(c.sleeps))
	}
}

// Concurrent callers at one instant each get their own slot, 1/rate apart:
// nobody is woken together with another.
func TestLimiterConcurrentReservations(t *testing.T) {
	l, _ := fakeLimiter(50, 1) // 20ms apart
	const n = 40
	waits := make([]time.Duration, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { waits[i] = l.reserve() })
	}
	wg.Wait()
	slices.Sort(waits)
	for i, w := range waits {
		if want := time.Duration(i) * 20 * time.Millisecond; (w - want).Abs() > time.Microsecond {
			t.Fatalf("reservation %d waits %v, want %v (all: %v)", i, w, want, waits)
		}
	}
}

func TestLimiterCancelGivesTokenBack(t *testing.T) {
	l, c := fakeLimiter(1, 1)
	l.Wait(context.Background()) // empties the bucket
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := l.Wait(ctx); err == nil {
		t.Fatal("Wait with a cancelled context succeeded")
	}
	// The cancelled reservation is returned: the next waits one interval
	// from the start, not two.
	c.sleeps = nil
	l.Wait(context.Background())
	if len(c.sleeps) != 1 || c.sleeps[0] > time.Second {
		t.Fatalf("sleeps %v, want one of at most 1s", c.sleeps)
	}
}

func TestNilLimiterIsUnlimited(t *testing.T) {
	var l *Limiter
	if l != NewLimiter(0, 10) {
		t.Fatal("rate 0 should give no limiter")
	}
	for range 1000 {
		if err := l.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}

func TestParseRate(t *testing.T) {
	for in, want := range map[string]float64{"500/s": 500, "200": 200, "30/m": 0.5, "3600/h": 1, "0": 0, "unlimited": 0, " 10 / s ": 10} {
		if got, err := ParseRate(in); err != nil || got != want {
			t.Errorf("%q: %v %v, want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"fast", "-1/s", "10/d", "NaN", "Inf/s"} {
		if _, err := ParseRate(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}
