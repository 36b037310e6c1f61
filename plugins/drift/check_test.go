package drift

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-monitoring/vigil/plugins/plugin"
)

var update = flag.Bool("update", false, "rewrite testdata/golden/*.golden from the current output")

// table builds a CSV from a header and a row generator.
func table(header string, rows int, row func(i int) string) string {
	var b strings.Builder
	b.WriteString(header + "\n")
	for i := 0; i < rows; i++ {
		b.WriteString(row(i) + "\n")
	}
	return b.String()
}

// frac is a deterministic spread in [0, 1): the Weyl sequence.
func frac(i int, a float64) float64 { return math.Mod(float64(i)*a, 1) }

const golden = 0.6180339887498949

var (
	refCSV = table("ts,score,age,country", 600, func(i int) string {
		return fmt.Sprintf("2026-12-01T%02d:%02d:00Z,%.4f,%d,%s", i/60%24, i%60, frac(i, golden), 20+i%50, []string{"DE", "FR", "US"}[i%3])
	})
	// Same distributions: no drift.
	sameCSV = table("ts,score,age,country", 500, func(i int) string {
		return fmt.Sprintf("2026-12-02T%02d:%02d:00Z,%.4f,%d,%s", i/60%24, i%60, frac(i, 0.4142135623730951), 20+(i*7)%50, []string{"DE", "FR", "US"}[(i/2)%3])
	})
	// score shifted, a new country, age the same.
	shiftCSV = table("ts,score,age,country", 500, func(i int) string {
		return fmt.Sprintf("2026-12-02T%02d:%02d:00Z,%.4f,%d,%s", i/60%24, i%60, 0.15+frac(i, 0.4142135623730951), 20+(i*7)%50, []string{"DE", "FR", "US", "IT"}[i%4])
	})
)

type checkCase struct {
	name  string
	files map[string]string
	args  []string
	want  plugin.Status
}

func checkCases() []checkCase {
	withBad := strings.Replace(shiftCSV, ",0.1500,", ",n/a?,", 1)
	withBad = strings.Replace(withBad, "\n2026-12-02T00:02:00Z,", "\n2026-12-02T00:02:00Z,oops", 1)
	withNaN := strings.Replace(sameCSV, "2026-12-02T00:01:00Z,0.4142", "2026-12-02T00:01:00Z,NaN", 1)
	withNaN = strings.Replace(withNaN, "2026-12-02T00:03:00Z,0.2426", "2026-12-02T00:03:00Z,-Inf", 1)
	emptyScore := table("ts,score,age,country", 20, func(i int) string { return fmt.Sprintf("2026-12-02T00:%02d:00Z,,%d,DE", i, 30+i) })
	constant := table("x", 300, func(i int) string { return "5" })
	constantShift := table("x", 300, func(i int) string { return fmt.Sprint(5 + i%2) })
	return []checkCase{
		{"auto_no_drift", map[string]string{"ref.csv": refCSV, "cur.csv": sameCSV}, []string{"--timestamp-column", "ts"}, plugin.OK},
		{"auto_drift", map[string]string{"ref.csv": refCSV, "cur.csv": shiftCSV}, []string{"--timestamp-column", "ts"}, plugin.Warning},
		{"psi_critical", map[string]string{"ref.csv": refCSV, "cur.csv": shiftCSV}, []string{"--timestamp-column", "ts", "--method", "psi"}, plugin.Critical},
		{"ks_bare_p_thresholds", map[string]string{"ref.csv": refCSV, "cur.csv": shiftCSV}, []string{"--column", "score", "--column", "age", "-m", "ks", "-w", "0.05", "-c", "0.000001"}, plugin.Warning},
		{"ks_user_thresholds", map[string]string{"ref.csv": refCSV, "cur.csv": shiftCSV}, []string{"--column", "score", "--column", "age", "-m", "ks", "-w", "0.05:", "-c", "0.001:"}, plugin.Critical},
		{"wasserstein_numeric_only", map[string]string{"ref.csv": refCSV, "cur.csv": shiftCSV}, []string{"--timestamp-column", "ts", "-m", "wasserstein"}, plugin.Warning},
		{"psi_user_warning_only", map[string]string{"ref.csv": refCSV, "cur.csv": shiftCSV}, []string{"--timestamp-column", "ts", "-w", "0.1", "--column", "score", "--column", "country", "-m", "psi", "--type", "score=numeric"}, plugin.Warning},
		{"drift_share_not_reached", map[string]string{"ref.csv": refCSV, "cur.csv": shiftCSV}, []string{"--timestamp-column", "ts", "-m", "jensenshannon", "--drift-share", "0.75"}, plugin.OK},
		{"drift_share_reached", map[string]string{"ref.csv": refCSV, "cur.csv": shiftCSV}, []string{"--timestamp-column", "ts", "-m", "jensenshannon", "--drift-share", "0.5"}, plugin.Warning},
		{"bonferroni", map[string]string{"ref.csv": refCSV, "cur.csv": shiftCSV}, []string{"--timestamp-column", "ts", "--bonferroni", "-m", "chi2"}, plugin.Warning},
		{"missing_column", map[string]string{"ref.csv": refCSV, "cur.csv": shiftCSV}, []string{"--column", "income"}, plugin.Unknown},
		{"different_schemas", map[string]string{"ref.csv": refCSV, "cur.csv": strings.Replace(shiftCSV, "ts,score,age,country", "ts,score,years,country", 1)}, nil, plugin.Unknown},
		{"bad_values_skipped", map[string]string{"ref.csv": refCSV, "cur.csv": withBad}, []string{"--column", "score"}, plugin.Warning},
		{"bad_values_fail", map[string]string{"ref.csv": refCSV, "cur.csv": withBad}, []string{"--column", "score", "--on-bad-value", "fail"}, plugin.Unknown},
		{"nan_and_inf_dropped", map[string]string{"ref.csv": refCSV, "cur.csv": withNaN}, []string{"--column", "score"}, plugin.OK},
		{"empty_column", map[string]string{"ref.csv": refCSV, "cur.csv": emptyScore}, []string{"--timestamp-column", "ts", "--type", "score=numeric"}, plugin.Warning},
		{"empty_window_since", map[string]string{"ref.csv": refCSV, "cur.csv": shiftCSV}, []string{"--timestamp-column", "ts", "--since", "2027-01-01T00:00:00Z"}, plugin.Unknown},
		{"since_window", map[string]string{"ref.csv": refCSV, "cur.csv": shiftCSV}, []string{"--timestamp-column", "ts", "--since", "2026-12-02T05:00:00Z", "--column", "score"}, plugin.Warning},
		{"current_last", map[string]string{"ref.csv": refCSV, "cur.csv": refCSV + strings.SplitN(shiftCSV, "\n", 2)[1]}, []string{"--timestamp-column", "ts", "--current-last", "600", "-m", "ks", "--column", "age"}, plugin.OK},
		{"constant_values", map[string]string{"ref.csv": constant, "cur.csv": constantShift}, []string{"-m", "wasserstein"}, plugin.Warning},
		{"constant_values_ks", map[string]string{"ref.csv": constant, "cur.csv": constant}, nil, plugin.OK},
		{"declared_categorical", map[string]string{"ref.csv": refCSV, "cur.csv": sameCSV}, []string{"--column", "age", "--type", "age=categorical"}, plugin.OK},
		{"tsv_delimiter", map[string]string{"ref.tsv": strings.ReplaceAll(refCSV, ",", "\t"), "cur.tsv": strings.ReplaceAll(shiftCSV, ",", "\t")}, []string{"--column", "score"}, plugin.Warning},
		{"semicolon_quoted", map[string]string{"ref.csv": "name;v\n\"a;b\";1\n\"c\"\"d\";2\n\"multi\nline\";3\n", "cur.csv": "name;v\n\"a;b\";1\n\"c\"\"d\";2\nnew;3\n"}, []string{"--delimiter", ";", "-m", "psi"}, plugin.Critical},
		{"empty_reference", map[string]string{"ref.csv": "", "cur.csv": shiftCSV}, nil, plugin.Unknown},
		{"no_header_format_flag", map[string]string{"ref.txt": strings.SplitN(refCSV, "\n", 2)[1], "cur.txt": strings.SplitN(shiftCSV, "\n", 2)[1]}, []string{"--format", "csv", "--no-header", "--column", "2", "--column", "4"}, plugin.Warning},
		{"bad_bins", map[string]string{"ref.csv": refCSV, "cur.csv": shiftCSV}, []string{"--bins", "1000000000"}, plugin.Unknown},
		{"bad_show", map[string]string{"ref.csv": refCSV, "cur.csv": shiftCSV}, []string{"--show", "-1"}, plugin.Unknown},
		{"bad_method", map[string]string{"ref.csv": refCSV, "cur.csv": shiftCSV}, []string{"-m", "kl"}, plugin.Unknown},
		{"unknown_format", map[string]string{"ref.dat": refCSV, "cur.dat": shiftCSV}, nil, plugin.Unknown},
		{"missing_file", map[string]string{"cur.csv": shiftCSV}, nil, plugin.Unknown},
		{"jsonl", map[string]string{"ref.jsonl": toJSONL(refCSV), "cur.jsonl": toJSONL(shiftCSV)}, []string{"--timestamp-column", "ts", "--since", "2026-12-02T04:00:00Z"}, plugin.Warning},
	}
}

// toJSONL turns one of the test CSVs into JSON Lines (numbers unquoted).
func toJSONL(csv string) string {
	lines := strings.Split(strings.TrimSpace(csv), "\n")
	keys := strings.Split(lines[0], ",")
	var b strings.Builder
	for _, l := range lines[1:] {
		vals := strings.Split(l, ",")
		b.WriteString("{")
		for i, k := range keys {
			if i > 0 {
				b.WriteString(", ")
			}
			v := vals[i]
			if _, err := fmt.Sscanf(v, "%g", new(float64)); err != nil || strings.Contains(v, "T") {
				v = fmt.Sprintf("%q", v)
			}
			fmt.Fprintf(&b, "%q: %s", k, v)
		}
		b.WriteString("}\n")
	}
	return b.String()
}

// runCase runs the plugin as the binary would, in a directory holding the
// case's files, so paths in messages are short and stable.
func runCase(t *testing.T, files map[string]string, args []string) (string, plugin.Status) {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(dir)
	ref, cur := "ref.csv", "cur.csv"
	for name := range files {
		switch strings.TrimSuffix(name, filepath.Ext(name)) {
		case "ref":
			ref = name
		case "cur":
			cur = name
		}
	}
	var out bytes.Buffer
	full := append([]string{"--reference", ref, "--current", cur}, args...)
	st := plugin.Run(context.Background(), New(), full, &out, &out)
	return out.String(), st
}

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name+".golden")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./plugins/drift -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s:\n--- got ---\n%s--- want ---\n%s", path, got, want)
	}
}

func TestCheckGolden(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range checkCases() {
		t.Run(c.name, func(t *testing.T) {
			out, st := runCase(t, c.files, c.args)
			if st != c.want {
				t.Errorf("status %v, want %v\n%s", st, c.want, out)
			}
			os.Chdir(wd) // golden files live under the package (t.Chdir restores at the end)
			checkGolden(t, c.name, out)
		})
	}
}

// TestTinyPValueKeepsItsDigits guards the rule: a p-value of
// 3.9e-15 must reach the perfdata with its digits, not as 0.
func TestTinyPValueKeepsItsDigits(t *testing.T) {
	p := plugin.Perfdata{Label: "x_ks_p", Value: 3.9e-15}
	if got, want := p.String(), "x_ks_p=0.0000000000000039"; got != want {
		t.Errorf("perfdata %q, want %q", got, want)
	}
	// And a real one: two disjoint samples of 12 and 9 values.
	x := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	y := []float64{20, 21, 22, 23, 24, 25, 26, 27, 28}
	r := KS2Samp(x, y)
	if r.PValue <= 0 || r.PValue > 1e-5 {
		t.Fatalf("p = %g", r.PValue)
	}
	s := plugin.Perfdata{Label: "p", Value: r.PValue}.String()
	digits := strings.TrimLeft(strings.TrimPrefix(s, "p=0."), "0")
	if len(digits) < 10 {
		t.Errorf("perfdata %q keeps %d significant digits, want at least 10", s, len(digits))
	}
}

// TestHTTPInput reads both windows from a local HTTP server, as from a
// model server's log endpoint, and reports a missing URL clearly.
func TestHTTPInput(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/ref.csv", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, refCSV) })
	mux.HandleFunc("/cur.csv", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, shiftCSV) })
	srv := httptest.NewServer(mux)
	defer srv.Close()
	res := Check(context.Background(), Options{Reference: srv.URL + "/ref.csv", Current: srv.URL + "/cur.csv", Columns: []string{"score"}}, plugin.Thresholds{})
	if res.Status != plugin.Warning || !strings.Contains(res.Summary, "score ks_p=") {
		t.Errorf("got %s", res.Render("DRIFT"))
	}
	res = Check(context.Background(), Options{Reference: srv.URL + "/ref.csv", Current: srv.URL + "/gone.csv"}, plugin.Thresholds{})
	if res.Status != plugin.Unknown || !strings.Contains(res.Summary, "HTTP 404 Not Found") {
		t.Errorf("got %s", res.Render("DRIFT"))
	}
}

// TestCancelledRead stops reading when the context ends.
func TestCancelledRead(t *testing.T) {
	dir := t.TempDir()
	big := table("v", 200_000, func(i int) string { return fmt.Sprint(i) })
	for _, n := range []string{"ref.csv", "cur.csv"} {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(big), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res := Check(ctx, Options{Reference: filepath.Join(dir, "ref.csv"), Current: filepath.Join(dir, "cur.csv")}, plugin.Thresholds{})
	if res.Status != plugin.Unknown || res.Summary != "cancelled while reading the reference and current data" {
		t.Errorf("got %s", res.Render("DRIFT"))
	}
}

// TestUserThresholdsNeedOneStatistic: -w/-c cannot mean one thing for a
// p-value and another for a distance.
func TestUserThresholdsNeedOneStatistic(t *testing.T) {
	cols := []*columnResult{
		{name: "a", method: MethodKS, stats: []statistic{{name: "ks_p", value: 0.5, pValue: true}}},
		{name: "b", method: MethodJensenShannon, stats: []statistic{{name: "jensenshannon", value: 0.05}}},
	}
	res := evaluate(Options{Show: 3}, plugin.Thresholds{Warning: plugin.MustRange("0.1")}, cols)
	want := "-w/-c apply to one statistic, but the columns are judged by a p-value and jensenshannon; choose one with --method"
	if res.Status != plugin.Unknown || res.Summary != want {
		t.Errorf("got %v %q", res.Status, res.Summary)
	}
	// Without -w/-c each keeps its method's default.
	res = evaluate(Options{Show: 3}, plugin.Thresholds{}, cols)
	if res.Status != plugin.OK {
		t.Errorf("defaults: got %s", res.Render("DRIFT"))
	}
}

// TestPluginRerun: one Plugin value run twice keeps nothing of the first
// run's flags.
func TestPluginRerun(t *testing.T) {
	p := New()
	var out bytes.Buffer
	plugin.Run(context.Background(), p, []string{"--reference", "a.csv", "--current", "b.csv", "--column", "x", "--type", "x=numeric"}, &out, &out)
	out.Reset()
	st := plugin.Run(context.Background(), p, []string{"--current", "b.csv"}, &out, &out)
	if got := strings.TrimSpace(out.String()); st != plugin.Unknown || got != "DRIFT UNKNOWN - --reference is required" {
		t.Errorf("second run: %s", got)
	}
}
