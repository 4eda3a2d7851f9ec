package diamgw_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// ARCHITECTURE.md's layout must match the tree: every directory that holds Go code is named in
// it, and for engine/ and server/, whose entries list their files, every source file is named
// and every named file exists. A change that adds, moves or removes one fails here until the
// document says so.
func TestArchitectureLayoutMatchesTree(t *testing.T) {
	doc, err := os.ReadFile("ARCHITECTURE.md")
	if err != nil {
		t.Fatalf("ARCHITECTURE.md: %v", err)
	}
	layout := layoutBlock(t, string(doc))
	entries := layoutEntries(layout)

	for _, dir := range goDirs(t) {
		if !named(entries, dir) {
			t.Errorf("directory %s/ holds Go code but ARCHITECTURE.md's layout does not name it", dir)
		}
	}
	fileName := regexp.MustCompile(`\b[a-z0-9_]+\.go\b`)
	for _, dir := range []string{"engine", "server"} {
		listed := fileName.FindAllString(entries[dir], -1)
		for _, f := range listed {
			if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
				t.Errorf("ARCHITECTURE.md names %s/%s, which does not exist", dir, f)
			}
		}
		src, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range src {
			base := filepath.Base(f)
			if strings.HasSuffix(base, "_test.go") {
				continue
			}
			if !slices.Contains(listed, base) {
				t.Errorf("%s is not named in ARCHITECTURE.md's %s/ entry", f, dir)
			}
		}
	}
}

// layoutBlock is the code block under "## Layout".
func layoutBlock(t *testing.T, doc string) string {
	t.Helper()
	_, rest, ok := strings.Cut(doc, "## Layout")
	if !ok {
		t.Fatal(`ARCHITECTURE.md has no "## Layout" section`)
	}
	_, rest, ok = strings.Cut(rest, "```\n")
	block, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("ARCHITECTURE.md's layout is not a code block")
	}
	return block
}

// layoutEntries maps each entry's path (without the trailing slash) to its text: an entry
// starts at a line beginning with a path ending in "/" and runs to the next entry.
func layoutEntries(block string) map[string]string {
	entries := map[string]string{}
	var cur string
	for _, line := range strings.Split(block, "\n") {
		if line != "" && line[0] != ' ' {
			head, _, _ := strings.Cut(line, " ")
			cur = strings.TrimSuffix(head, "/")
		}
		entries[cur] += line + "\n"
	}
	return entries
}

// named reports whether dir, or a parent of it, is an entry, or the entry of a group such as
// "internal/await, fixtures, leakcheck:" names it.
func named(entries map[string]string, dir string) bool {
	for d := dir; d != "."; d = filepath.Dir(d) {
		if _, ok := entries[d]; ok {
			return true
		}
	}
	parent, leaf := filepath.Dir(dir), filepath.Base(dir)
	for k, text := range entries {
		if strings.HasPrefix(k, parent+"/") {
			first, _, _ := strings.Cut(text, ":")
			if slices.Contains(strings.FieldsFunc(first, func(r rune) bool { return r == ',' || r == ' ' || r == '/' }), leaf) {
				return true
			}
		}
	}
	return false
}

// goDirs lists the directories below the module root that hold .go files, testdata excluded.
func goDirs(t *testing.T) []string {
	t.Helper()
	seen := map[string]bool{}
	err := filepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && p != "." {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(p, ".go") {
			if dir := filepath.Dir(p); dir != "." {
				seen[dir] = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var dirs []string
	for d := range seen {
		dirs = append(dirs, d)
	}
	slices.Sort(dirs)
	return dirs
}
