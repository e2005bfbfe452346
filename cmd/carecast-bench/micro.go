package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// The micro-benchmarks the issues pin, run with the go tool from the
// module's own test files so the numbers are exactly theirs.
var (
	renderBenchmarks = []string{"BenchmarkCountSMSGSM300", "BenchmarkCountSMSUCS2Emoji300", "BenchmarkSMSTemplateRender",
		"BenchmarkEmailCompile", "BenchmarkEmailPersonalize", "BenchmarkEmailNaivePremailer"}
	previewBenchmarks = map[string][]string{
		"./eligibility": {"BenchmarkPreview1M"},
		"./cohort":      {"BenchmarkCount100k"},
	}
)

// runRender runs the render package's pinned benchmarks and reports each,
// plus the naive-premailer ÷ personalise ratio.
func runRender(ctx context.Context, o *options) ([]*result, error) {
	rs, err := goBench(ctx, "render", "./render", renderBenchmarks)
	if err != nil {
		return rs, err
	}
	var naive, pers float64
	for _, r := range rs {
		switch r.get("scenario") {
		case "render-EmailNaivePremailer":
			naive = r.get("ns_per_op").(float64)
		case "render-EmailPersonalize":
			pers = r.get("ns_per_op").(float64)
		}
	}
	if naive > 0 && pers > 0 {
		rs = append(rs, (&result{}).add("scenario", "render-email-ratio").add("naive_over_personalize", round1(naive/pers)))
	}
	return rs, nil
}

// runPreview runs the preview and cohort-count benchmarks.
func runPreview(ctx context.Context, o *options) ([]*result, error) {
	var out []*result
	for _, pkg := range []string{"./eligibility", "./cohort"} {
		rs, err := goBench(ctx, "preview", pkg, previewBenchmarks[pkg])
		out = append(out, rs...)
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

// goBench runs `go test -bench` for names in pkg and parses the results
// into "<prefix>-<name without Benchmark>" scenarios.
func goBench(ctx context.Context, prefix, pkg string, names []string) ([]*result, error) {
	if _, err := os.Stat(strings.TrimPrefix(pkg, "./")); err != nil {
		return nil, errSkipped{"run from the module root: " + pkg + " not found"}
	}
	cmd := exec.CommandContext(ctx, "go", "test", "-run", "^$", "-bench", "^("+strings.Join(names, "|")+")$", "-benchmem", pkg)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("go test -bench %s: %w\n%s", pkg, err, out.String())
	}
	var rs []*result
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		name := strings.TrimPrefix(f[0], "Benchmark")
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			name = name[:i]
		}
		r := (&result{}).add("scenario", prefix+"-"+name)
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			switch f[i+1] {
			case "ns/op":
				r.add("ns_per_op", v)
			case "allocs/op":
				r.add("allocs_per_op", v)
			case "B/op":
				r.add("bytes_per_op", v)
			}
		}
		rs = append(rs, r)
	}
	return rs, sc.Err()
}
