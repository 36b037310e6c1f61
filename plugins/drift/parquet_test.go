package drift

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/vigil-monitoring/vigil/plugins/plugin"
)

type parquetRow struct {
	TS      time.Time `parquet:"ts,timestamp(millisecond)"`
	Score   float64   `parquet:"score"`
	Weight  *float32  `parquet:"weight,optional"`
	Age     int64     `parquet:"age"`
	Country string    `parquet:"country"`
}

// writePair writes the same rows as Parquet and as CSV.
func writePair(t *testing.T, dir, name string, n int, shift float64, start time.Time) {
	t.Helper()
	rows := make([]parquetRow, n)
	var csv strings.Builder
	csv.WriteString("ts,score,weight,age,country\n")
	for i := range rows {
		r := parquetRow{
			TS:      start.Add(time.Duration(i) * time.Minute),
			Score:   shift + frac(i, golden+shift),
			Age:     int64(20 + (i*7)%50),
			Country: []string{"DE", "FR", "US", "IT"}[i%(3+int(shift*10)%2)],
		}
		w := ""
		if i%5 != 0 { // every fifth weight is null
			f := float32(frac(i, 0.7320508075688772)) * 3
			r.Weight = &f
			w = fmt.Sprint(float64(f)) // the float32's exact value as a double
		}
		rows[i] = r
		fmt.Fprintf(&csv, "%s,%s,%s,%d,%s\n", r.TS.UTC().Format(time.RFC3339Nano), fmt.Sprint(r.Score), w, r.Age, r.Country)
	}
	if err := parquet.WriteFile(filepath.Join(dir, name+".parquet"), rows); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".csv"), []byte(csv.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestParquetMatchesCSV: the same data read from Parquet and from CSV gives
// the same numbers, window and verdict, including nulls, float32 values and
// a timestamp column filtered with --since.
func TestParquetMatchesCSV(t *testing.T) {
	dir := t.TempDir()
	day := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	writePair(t, dir, "ref", 700, 0, day)
	writePair(t, dir, "cur", 600, 0.1, day.Add(24*time.Hour))
	for _, tc := range []struct{ method, since string }{
		{MethodAuto, "2026-12-02T02:00:00Z"}, {MethodPSI, "2026-12-02T02:00:00Z"}, {MethodHellinger, "2026-12-02T02:00:00Z"},
		{MethodAuto, ""}, {MethodChi2, ""}, // numbers read without a text round trip
	} {
		m := tc.method
		run := func(ext string) plugin.Result {
			return Check(context.Background(), Options{
				Reference: filepath.Join(dir, "ref."+ext), Current: filepath.Join(dir, "cur."+ext),
				TimestampColumn: "ts", Since: tc.since, Method: m,
			}, plugin.Thresholds{})
		}
		pq, cs := run("parquet"), run("csv")
		if pq.Status == plugin.Unknown {
			t.Fatalf("%s: parquet: %s", m, pq.Render("DRIFT"))
		}
		strip := func(r plugin.Result) string {
			s := r.Render("DRIFT")
			return strings.NewReplacer(".parquet", "", ".csv", "").Replace(s)
		}
		if strip(pq) != strip(cs) {
			t.Errorf("%s: parquet and CSV differ:\n%s\n%s", m, pq.Render("DRIFT"), cs.Render("DRIFT"))
		}
		want := "480 of 600 rows (since 2026-12-02T02:00:00Z)"
		if tc.since == "" {
			want = "current " + filepath.Join(dir, "cur.parquet") + ": 600 rows"
		}
		if !strings.Contains(pq.Details[0], want) {
			t.Errorf("%s: window line %q", m, pq.Details[0])
		}
	}
}

func TestParquetErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.parquet")
	if err := os.WriteFile(bad, []byte("PAR1 not really"), 0o644); err != nil {
		t.Fatal(err)
	}
	res := Check(context.Background(), Options{Reference: bad, Current: bad}, plugin.Thresholds{})
	if res.Status != plugin.Unknown || !strings.Contains(res.Summary, "reading Parquet") {
		t.Errorf("got %s", res.Render("DRIFT"))
	}
}
