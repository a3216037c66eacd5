package cli

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/pflag"
)

// Explain adds a hint to an error of c.Flags.Parse: for an unknown flag,
// the closest flag of c ("did you mean --protocols?"), or the other
// command that has it. Other errors come back as they are.
func (c *Command) Explain(err error, others ...*Command) error {
	var ne *pflag.NotExistError
	if !errors.As(err, &ne) {
		return err
	}
	name := ne.GetSpecifiedName()
	if shorts := ne.GetSpecifiedShortnames(); shorts != "" {
		// -x: an unknown one-letter flag; a long name typed with one dash
		// ("-timeout") is the likelier mistake.
		if f := lookupLong(c.Flags, shorts); f != nil && len(shorts) > 1 {
			return fmt.Errorf("%w\n  did you mean --%s? (long flags take two dashes)", err, f.Name)
		}
		return err
	}
	if s := Closest(c.Flags, name); s != "" {
		return fmt.Errorf("%w\n  did you mean --%s?", err, s)
	}
	for _, o := range others {
		if o != c && lookupLong(o.Flags, name) != nil {
			return fmt.Errorf("%w\n  --%s is a flag of '%s'", err, name, o.Name)
		}
	}
	return err
}

func lookupLong(fs *pflag.FlagSet, name string) *pflag.Flag {
	if fs == nil {
		return nil
	}
	f := fs.Lookup(name)
	if f == nil || f.Hidden {
		return nil
	}
	return f
}

// Closest is the visible flag of fs whose name is nearest to name: the
// only one it is a prefix of, else the nearest by edit distance when that
// is small for the name's length; "" when none is near.
func Closest(fs *pflag.FlagSet, name string) string {
	flags := visible(fs)
	var prefixed []string
	for _, f := range flags {
		if strings.HasPrefix(f.Name, name) {
			prefixed = append(prefixed, f.Name)
		}
	}
	if len(prefixed) == 1 && len(name) >= 3 {
		return prefixed[0]
	}
	best, bestD := "", 0
	for _, f := range flags {
		if d := distance(name, f.Name); best == "" || d < bestD {
			best, bestD = f.Name, d
		}
	}
	if best != "" && bestD <= max(1, min(3, len(name)/3)) {
		return best
	}
	return ""
}

// ClosestWord is the word of words nearest to s by edit distance, if it is
// near; "" otherwise.
func ClosestWord(s string, words []string) string {
	best, bestD := "", 0
	for _, w := range words {
		if d := distance(s, w); best == "" || d < bestD {
			best, bestD = w, d
		}
	}
	if best != "" && bestD <= max(1, min(2, len(s)/3)) {
		return best
	}
	return ""
}

// distance is the Damerau-Levenshtein distance (optimal string alignment)
// of a and b: insertions, deletions, substitutions and swaps of neighbours.
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range rb {
		d[0][j+1] = j + 1
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}
