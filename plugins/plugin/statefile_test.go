package plugin

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	for _, content := range []string{`{"run":1}`, `{"run":2}`} {
		if err := WriteFileAtomic(path, []byte(content), 0o640); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != content {
			t.Fatalf("read back %q, %v; want %q", got, err, content)
		}
	}
	info, _ := os.Stat(path)
	if info.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want 0640", info.Mode().Perm())
	}
	// No temporary file is left behind.
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d files, want only state.json", len(entries))
	}
	// A directory that does not exist is an error naming the file.
	err := WriteFileAtomic(filepath.Join(dir, "missing", "state.json"), nil, 0o600)
	if err == nil || !strings.Contains(err.Error(), "missing/state.json") {
		t.Errorf("error %v does not name the file", err)
	}
}
