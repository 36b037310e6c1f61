package drift

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"strings"
)

// openSource opens a local file or an HTTP(S) URL for streaming. The body
// is read as it arrives; ctx bounds the whole transfer.
func openSource(ctx context.Context, src string) (io.ReadCloser, error) {
	if isURL(src) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, src, nil)
		if err != nil {
			return nil, fmt.Errorf("requesting %s: %w", src, err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, fmt.Errorf("fetching %s: %w", src, err)
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			return nil, fmt.Errorf("fetching %s: HTTP %s", src, resp.Status)
		}
		return resp.Body, nil
	}
	f, err := os.Open(src)
	if err != nil {
		return nil, err // "open PATH: reason" already says it all
	}
	return f, nil
}

func isURL(src string) bool {
	return strings.HasPrefix(src, "http://") || strings.HasPrefix(src, "https://")
}

// Input formats.
const (
	FormatCSV       = "csv"
	FormatTSV       = "tsv"
	FormatJSONL     = "jsonl"
	FormatParquet   = "parquet"
	FormatHistogram = "histogram"
)

// detectFormat picks the format from the name's extension.
func detectFormat(src string) (string, error) {
	name := src
	if isURL(src) {
		name, _, _ = strings.Cut(src, "?")
	}
	switch strings.ToLower(path.Ext(name)) {
	case ".csv":
		return FormatCSV, nil
	case ".tsv", ".tab":
		return FormatTSV, nil
	case ".jsonl", ".ndjson", ".json":
		return FormatJSONL, nil
	case ".parquet", ".pq":
		return FormatParquet, nil
	case ".prom", ".metrics":
		return FormatHistogram, nil
	}
	return "", fmt.Errorf("cannot tell the format of %q from its name; give --format (csv, tsv, jsonl, parquet or histogram)", src)
}
