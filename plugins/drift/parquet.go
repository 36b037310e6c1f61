package drift

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
)

// readParquet streams a Parquet file's rows into sink, row group by row
// group, with github.com/parquet-go/parquet-go. Only flat (non-repeated)
// leaf columns are read; a nested column's path is joined with dots.
// Numbers keep their exact double value (float32 widened as pyarrow does),
// byte arrays are labels, booleans true/false, nulls missing, and INT64
// timestamps (any unit) become RFC 3339 times for --since. A URL is
// downloaded first: Parquet's footer sits at the end of the file.
func readParquet(ctx context.Context, src string, sink *rowSink) error {
	var (
		ra   io.ReaderAt
		size int64
	)
	if isURL(src) {
		body, err := openSource(ctx, src)
		if err != nil {
			return err
		}
		b, err := io.ReadAll(body)
		body.Close()
		if err != nil {
			return fmt.Errorf("fetching %s: %w", src, err)
		}
		ra, size = bytes.NewReader(b), int64(len(b))
	} else {
		f, err := os.Open(src)
		if err != nil {
			return err
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			return err
		}
		ra, size = f, st.Size()
	}
	pf, err := parquet.OpenFile(ra, size)
	if err != nil {
		return fmt.Errorf("reading Parquet %s: %w", src, err)
	}
	schema := pf.Schema()
	paths := schema.Columns()
	names := make([]string, len(paths))
	tsUnit := make([]time.Duration, len(paths))
	for i, p := range paths {
		names[i] = strings.Join(p, ".")
		leaf, ok := schema.Lookup(p...)
		if !ok {
			continue
		}
		if leaf.MaxRepetitionLevel > 0 {
			return fmt.Errorf("column %q is a repeated Parquet field (a list); check_drift compares scalar columns", names[i])
		}
		if lt := leaf.Node.Type().LogicalType(); lt != nil {
			if ts, ok := lt.Value.(*format.TimestampType); ok && ts.Unit.Value != nil {
				tsUnit[i] = ts.Unit.Value.Duration()
			}
		}
	}
	if err := sink.setHeader(names); err != nil {
		return err
	}
	fields := make([][]byte, len(names))
	bufs := make([][]byte, len(names)) // per-column scratch for text values
	nums := make([]float64, len(names))
	isNum := make([]bool, len(names))
	rows := make([]parquet.Row, 256)
	for _, rg := range pf.RowGroups() {
		rr := rg.Rows()
		for {
			if ctx.Err() != nil {
				rr.Close()
				return ctx.Err()
			}
			n, err := rr.ReadRows(rows)
			for _, row := range rows[:n] {
				clear(fields)
				clear(isNum)
				for _, v := range row {
					c := v.Column()
					if c < 0 || c >= len(fields) || v.IsNull() {
						continue
					}
					switch {
					case v.Kind() == parquet.Double:
						nums[c], isNum[c] = v.Double(), true
					case v.Kind() == parquet.Float:
						nums[c], isNum[c] = float64(v.Float()), true
					case v.Kind() == parquet.Int32:
						nums[c], isNum[c] = float64(v.Int32()), true
					case v.Kind() == parquet.Int64 && tsUnit[c] == 0:
						nums[c], isNum[c] = float64(v.Int64()), true
					default:
						bufs[c] = appendParquetValue(bufs[c][:0], v, tsUnit[c])
						fields[c] = bufs[c]
					}
				}
				if err := sink.addTypedRow(fields, nums, isNum); err != nil {
					rr.Close()
					return err
				}
			}
			if err != nil {
				rr.Close()
				if errors.Is(err, io.EOF) {
					break
				}
				return fmt.Errorf("reading Parquet %s: %w", src, err)
			}
		}
	}
	return nil
}

func appendParquetValue(b []byte, v parquet.Value, tsUnit time.Duration) []byte {
	switch v.Kind() {
	case parquet.Boolean:
		return strconv.AppendBool(b, v.Boolean())
	case parquet.Int32:
		return strconv.AppendInt(b, int64(v.Int32()), 10)
	case parquet.Int64:
		if tsUnit > 0 {
			t := time.Unix(0, 0).Add(time.Duration(v.Int64()) * tsUnit).UTC()
			return t.AppendFormat(b, time.RFC3339Nano)
		}
		return strconv.AppendInt(b, v.Int64(), 10)
	case parquet.Float:
		return strconv.AppendFloat(b, float64(v.Float()), 'g', -1, 64)
	case parquet.Double:
		return strconv.AppendFloat(b, v.Double(), 'g', -1, 64)
	case parquet.ByteArray, parquet.FixedLenByteArray:
		return append(b, v.ByteArray()...)
	}
	return append(b, v.String()...)
}
