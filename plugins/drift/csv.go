package drift

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
)

// readCSV streams delimited text into sink: the first record is the header
// (or, with header false, columns are named 1, 2, …). Quoted fields follow
// RFC 4180 ("" inside quotes is a quote; quotes may hold the delimiter and
// line breaks). Unquoted lines, the usual case, are split in place without
// copying. Memory is one line plus what the sink keeps.
func readCSV(ctx context.Context, r io.Reader, delim byte, header bool, sink *rowSink) error {
	br := bufio.NewReaderSize(r, 1<<20)
	var (
		fields  [][]byte
		scratch []byte // a quoted record, unescaped
		line    = 0
		gotHead = !header
		named   = false
	)
	for {
		rec, err := readLine(br)
		if len(rec) == 0 && err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return fmt.Errorf("reading line %d: %w", line+1, err)
		}
		line++
		if line%65536 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		if bytes.IndexByte(rec, '"') >= 0 {
			// A quoted record may continue on the next lines.
			scratch = append(scratch[:0], rec...)
			for !quotesBalanced(scratch) {
				more, err := readLine(br)
				if len(more) == 0 && err != nil {
					return fmt.Errorf("line %d: quoted field not closed at end of input", line)
				}
				line++
				scratch = append(scratch, '\n')
				scratch = append(scratch, more...)
			}
			var perr error
			fields, perr = splitQuoted(fields[:0], scratch, delim)
			if perr != nil {
				return fmt.Errorf("line %d: %w", line, perr)
			}
		} else {
			if len(bytes.TrimSpace(rec)) == 0 {
				continue // blank line
			}
			fields = splitPlain(fields[:0], rec, delim)
		}
		if !gotHead {
			gotHead = true
			names := make([]string, len(fields))
			for i, f := range fields {
				names[i] = string(trimSpace(f))
			}
			if err := sink.setHeader(names); err != nil {
				return err
			}
			named = true
			continue
		}
		if !named {
			// No header: name the columns by position.
			names := make([]string, len(fields))
			for i := range fields {
				names[i] = fmt.Sprint(i + 1)
			}
			if err := sink.setHeader(names); err != nil {
				return err
			}
			named = true
		}
		if err := sink.addRow(fields); err != nil {
			return fmt.Errorf("line %d: %w", line, err)
		}
	}
	if !gotHead {
		return errors.New("empty input: no header line")
	}
	if !named {
		return errors.New("empty input: no rows")
	}
	return nil
}

// readLine returns the next line without its line break; the slice is valid
// until the next call. Long lines are joined into one buffer.
func readLine(br *bufio.Reader) ([]byte, error) {
	b, err := br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		long := append([]byte(nil), b...)
		for errors.Is(err, bufio.ErrBufferFull) {
			b, err = br.ReadSlice('\n')
			long = append(long, b...)
		}
		b = long
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	b = bytes.TrimSuffix(b, []byte{'\n'})
	b = bytes.TrimSuffix(b, []byte{'\r'})
	if len(b) == 0 && err != nil {
		return nil, err
	}
	return b, nil
}

func splitPlain(fields [][]byte, line []byte, delim byte) [][]byte {
	for {
		i := bytes.IndexByte(line, delim)
		if i < 0 {
			return append(fields, line)
		}
		fields = append(fields, line[:i])
		line = line[i+1:]
	}
}

func quotesBalanced(b []byte) bool {
	return bytes.Count(b, []byte{'"'})%2 == 0
}

// splitQuoted splits a record that holds quotes, unescaping in place.
func splitQuoted(fields [][]byte, rec []byte, delim byte) ([][]byte, error) {
	i := 0
	for {
		// Skip leading spaces before a quote, as Python's csv does not
		// but spreadsheets often write them; they are trimmed later anyway.
		start := i
		for i < len(rec) && rec[i] == ' ' {
			i++
		}
		if i < len(rec) && rec[i] == '"' {
			i++
			out := i // unescape into rec[out:]
			w := out
			for {
				if i >= len(rec) {
					return nil, errors.New("quoted field not closed")
				}
				if rec[i] == '"' {
					if i+1 < len(rec) && rec[i+1] == '"' {
						rec[w] = '"'
						w++
						i += 2
						continue
					}
					i++
					break
				}
				rec[w] = rec[i]
				w++
				i++
			}
			fields = append(fields, rec[out:w])
			for i < len(rec) && rec[i] != delim {
				if rec[i] != ' ' {
					return nil, fmt.Errorf("text after a closing quote in field %d", len(fields))
				}
				i++
			}
		} else {
			i = start
			j := bytes.IndexByte(rec[i:], delim)
			if j < 0 {
				fields = append(fields, rec[i:])
				return fields, nil
			}
			fields = append(fields, rec[i:i+j])
			i += j
		}
		if i >= len(rec) {
			return fields, nil
		}
		i++ // the delimiter
	}
}
