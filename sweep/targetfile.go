package sweep

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// AddFile reads a target file (see AddList).
func (t *Targets) AddFile(name string) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	return t.AddList(name, f)
}

// AddList reads a target list: one or more targets per line separated by
// white space, "#" starting a comment; or, when the first line that is not
// a comment holds a comma (or the name ends in .csv), CSV whose header
// names a "target", "host", "hostname", "address" or "ip" column (and
// optionally a "port" column). Errors say name:line.
func (t *Targets) AddList(name string, r io.Reader) error {
	br := bufio.NewReaderSize(r, 64<<10)
	line := 0
	for {
		text, err := readLine(br)
		if text == "" && err != nil {
			if err == io.EOF {
				return nil
			}
			return fmt.Errorf("%s:%d: %w", name, line+1, err)
		}
		line++
		if line == 1 {
			text = strings.TrimPrefix(text, "\ufeff")
		}
		body, _, _ := strings.Cut(text, "#")
		if strings.TrimSpace(body) == "" {
			if err != nil {
				return endOfList(name, line, err)
			}
			continue
		}
		if strings.HasSuffix(strings.ToLower(name), ".csv") || strings.Contains(body, ",") {
			return t.addCSV(name, line, text, br)
		}
		for tok := range strings.FieldsSeq(body) {
			if e := t.Add(tok); e != nil {
				return fmt.Errorf("%s:%d: %w", name, line, e)
			}
		}
		if err != nil {
			return endOfList(name, line, err)
		}
	}
}

// endOfList turns the error that ended a list after line into the result.
func endOfList(name string, line int, err error) error {
	if err == io.EOF {
		return nil
	}
	return fmt.Errorf("%s:%d: %w", name, line, err)
}

// readLine returns the next line without its end; io.EOF comes with the
// last line when it has no newline.
func readLine(br *bufio.Reader) (string, error) {
	var b []byte
	for {
		chunk, err := br.ReadSlice('\n')
		b = append(b, chunk...)
		if len(b) > maxLine {
			return "", fmt.Errorf("line longer than %d bytes", maxLine)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		s := strings.TrimRight(string(b), "\r\n")
		if err != nil && s == "" {
			return "", err
		}
		return s, err
	}
}

// addCSV reads the rest of a CSV target file whose header is header.
func (t *Targets) addCSV(name string, headerLine int, header string, br *bufio.Reader) error {
	cr := csv.NewReader(io.MultiReader(strings.NewReader(header+"\n"), br))
	cr.Comment = '#'
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	cr.ReuseRecord = true
	lineOf := func(err error) error {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return fmt.Errorf("%s:%d: %w", name, headerLine-1+pe.Line, pe.Err)
		}
		return fmt.Errorf("%s: %w", name, err)
	}
	rec, err := cr.Read()
	if err != nil {
		return lineOf(err)
	}
	col, portCol := -1, -1
	var cols []string
	for i, c := range rec {
		c = strings.ToLower(strings.TrimSpace(c))
		cols = append(cols, c)
		switch c {
		case "target", "host", "hostname", "address", "ip":
			if col < 0 {
				col = i
			}
		case "port":
			portCol = i
		}
	}
	if col < 0 {
		return fmt.Errorf("%s:%d: CSV header has no target, host, hostname, address or ip column (columns: %s)",
			name, headerLine, strings.Join(cols, ", "))
	}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return lineOf(err)
		}
		ln, _ := cr.FieldPos(0)
		ln += headerLine - 1
		if col >= len(rec) || strings.TrimSpace(rec[col]) == "" {
			continue
		}
		tok := strings.TrimSpace(rec[col])
		s, err := parseSpec(tok)
		if err != nil {
			return fmt.Errorf("%s:%d: %w", name, ln, err)
		}
		if portCol >= 0 && portCol < len(rec) && strings.TrimSpace(rec[portCol]) != "" {
			p, err := parsePort(strings.TrimSpace(rec[portCol]))
			if err != nil {
				return fmt.Errorf("%s:%d: port column: %w", name, ln, err)
			}
			if s.port != 0 && s.port != p {
				return fmt.Errorf("%s:%d: target %q names port %d but the port column says %d", name, ln, tok, s.port, p)
			}
			s.port = p
		}
		if err := t.add(s, tok); err != nil {
			return fmt.Errorf("%s:%d: %w", name, ln, err)
		}
	}
}
