package sweep

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Limiter is a token bucket: Rate tokens a second, at most Burst saved up.
// Each Wait takes one token, sleeping until it is due. Concurrent callers
// each reserve the next token in turn, so N waiters are paced 1/Rate apart
// rather than woken together.
type Limiter struct {
	mu     sync.Mutex
	rate   float64 // tokens per second
	burst  float64
	tokens float64 // may go negative: tokens reserved by sleepers
	last   time.Time

	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error
}

// NewLimiter returns a limiter of perSecond tokens a second, holding at
// most burst (at least 1); it starts full. perSecond <= 0 means no limit
// (a nil *Limiter is also no limit).
func NewLimiter(perSecond float64, burst int) *Limiter {
	if perSecond <= 0 {
		return nil
	}
	b := float64(max(burst, 1))
	return &Limiter{rate: perSecond, burst: b, tokens: b, now: time.Now, sleep: sleepCtx}
}

// DefaultBurst is the burst a sweep gives a rate: a twentieth of a second's
// worth, so timer granularity does not cost throughput.
func DefaultBurst(perSecond float64) int { return max(1, int(perSecond/20)) }

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Wait takes a token, sleeping until one is due; it returns ctx's error
// (and gives the token back) if ctx ends first.
func (l *Limiter) Wait(ctx context.Context) error {
	if l == nil {
		return ctx.Err()
	}
	d := l.reserve()
	if d <= 0 {
		return ctx.Err()
	}
	if err := l.sleep(ctx, d); err != nil {
		l.mu.Lock()
		l.tokens = math.Min(l.burst, l.tokens+1)
		l.mu.Unlock()
		return err
	}
	return nil
}

// reserve takes a token and returns how long until it is due.
func (l *Limiter) reserve() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if !l.last.IsZero() {
		if el := now.Sub(l.last).Seconds(); el > 0 {
			l.tokens = math.Min(l.burst, l.tokens+el*l.rate)
		}
	}
	l.last = now
	l.tokens--
	if l.tokens >= 0 {
		return 0
	}
	return time.Duration(-l.tokens / l.rate * float64(time.Second))
}

// ParseRate parses "500/s", "500" (a second), "30/m", "100/h"; "0",
// "unlimited" and "none" mean no limit (0).
func ParseRate(s string) (float64, error) {
	s = strings.TrimSpace(strings.ToLower(s))
	switch s {
	case "0", "unlimited", "none", "":
		return 0, nil
	}
	num, unit, _ := strings.Cut(s, "/")
	n, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil || n < 0 || math.IsInf(n, 0) || math.IsNaN(n) {
		return 0, fmt.Errorf("unknown rate %q (use N/s, N/m or N/h, e.g. 200/s)", s)
	}
	switch strings.TrimSpace(unit) {
	case "", "s", "sec", "second":
		return n, nil
	case "m", "min", "minute":
		return n / 60, nil
	case "h", "hour":
		return n / 3600, nil
	}
	return 0, fmt.Errorf("rate %q: unit must be s, m or h", s)
}
