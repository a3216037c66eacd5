//go:build unix

package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// command is one client invocation. Passwords go in through stdin or the
// environment, never argv.
type command struct {
	args  []string
	env   []string
	stdin string
	// sampleRSS: read the process's resident set every 50 ms while it runs.
	sampleRSS bool
}

// run is what one invocation cost.
type run struct {
	wall time.Duration
	cpu  time.Duration // user + sys
	rss  int64         // peak resident set, bytes
	out  []byte
	err  error
	// rssSamples are the resident set readings in bytes, in time order.
	rssSamples []int64
}

// timeBin is GNU time. A child that Go starts (vfork) inherits the
// parent's peak RSS in its rusage, since Linux keeps the high-water mark of
// the address space exec replaced, so the bench's own memory would show up
// in every figure; GNU time forks a small process first, and reports the
// child's own peak.
const timeBin = "/usr/bin/time"

func (c command) run(timeout time.Duration) run {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	args := c.args
	var rusageFile string
	if !c.sampleRSS {
		f, err := os.CreateTemp("", "rdpprobe-bench-rusage-")
		if err != nil {
			return run{err: err}
		}
		f.Close()
		rusageFile = f.Name()
		defer os.Remove(rusageFile)
		args = append([]string{timeBin, "-o", rusageFile, "-f", "%M"}, args...)
	}
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Env = append(os.Environ(), c.env...)
	cmd.Stdin = strings.NewReader(c.stdin)
	// No controlling terminal: tools that prompt (getpass, FreeRDP's
	// /from-stdin) then read the password from stdin.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	var samples []int64
	err := cmd.Start()
	if err == nil {
		stop := make(chan struct{})
		sampled := make(chan struct{})
		go func() {
			defer close(sampled)
			if !c.sampleRSS {
				return
			}
			tick := time.NewTicker(50 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
					if v := vmRSS(cmd.Process.Pid); v > 0 {
						samples = append(samples, v)
					}
				}
			}
		}()
		err = cmd.Wait()
		close(stop)
		<-sampled
	}
	r := run{wall: time.Since(start), out: out.Bytes(), err: err, rssSamples: samples}
	if cmd.ProcessState == nil {
		return r
	}
	// CPU is the child's own (and GNU time's, which is next to nothing).
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	if rusageFile != "" {
		b, _ := os.ReadFile(rusageFile)
		// The last line is %M (kilobytes); an earlier one may say the
		// command exited non-zero.
		lines := strings.Fields(strings.TrimSpace(string(b)))
		if len(lines) > 0 {
			kb, _ := strconv.ParseInt(lines[len(lines)-1], 10, 64)
			r.rss = kb * 1024
		}
	}
	for _, v := range samples {
		r.rss = max(r.rss, v)
	}
	return r
}

func median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func medianInt(v []int64) int64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]int64(nil), v...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

// vmRSS is a process's resident set now, in bytes (0 if unknown).
func vmRSS(pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb * 1024
		}
	}
	return 0
}

// halves returns the largest sample of the first and of the second half.
func halves(s []int64) (first, second int64) {
	for i, v := range s {
		if i < len(s)/2 {
			first = max(first, v)
		} else {
			second = max(second, v)
		}
	}
	return first, second
}
