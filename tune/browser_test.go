package tune

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// findChromium returns the path of a Chromium or Chrome binary. Without
// one the browser test skips, except in CI (CI=true), where .ci/run
// installs Debian's chromium and a missing browser is a failure.
func findChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no chromium in PATH: CI must install it (apt-get install chromium)")
	}
	t.Skip("skipping the browser test: no chromium in PATH (install Debian's chromium package to run it)")
	return ""
}

// TestTuneBrowser loads the page in a headless Chromium, runs the allocating
// sample and checks the Assembly tab, the editor's escape marks and the GC
// chart, then saves a screenshot (to $TUNE_SCREENSHOT if set).
func TestTuneBrowser(t *testing.T) {
	chromium := findChromium(t)
	srv := startServer(t, Options{})

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1500, 920),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	// Collect the page's uncaught exceptions and console errors.
	var pageErrMu sync.Mutex
	var pageErrs []string
	listener := chromedp.WithListener(func(ev any) {
		var msg string
		switch e := ev.(type) {
		case *cdpruntime.EventExceptionThrown:
			msg = "exception: " + e.ExceptionDetails.Text
			if e.ExceptionDetails.Exception != nil {
				msg += " " + e.ExceptionDetails.Exception.Description
			}
		case *cdpruntime.EventConsoleAPICalled:
			if e.Type == cdpruntime.ConsoleAPICalledTypeError {
				msg = "console.error"
				for _, a := range e.Args {
					msg += " " + string(a.Value) + a.Description
				}
			}
		}
		if msg != "" {
			pageErrMu.Lock()
			pageErrs = append(pageErrs, msg)
			pageErrMu.Unlock()
		}
	})
	ctx, cancelCtx := chromedp.NewContext(actx, listener)
	defer cancelCtx()
	// The first call starts the browser; it must not carry a timeout.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 150*time.Second)
	defer cancel()

	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	count := func(js string) int {
		t.Helper()
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](js))
		if err != nil {
			t.Fatalf("evaluating %s: %v", js, err)
		}
		return n
	}
	tab := func(name string) chromedp.Action[chromedp.Void] {
		return chromedp.Click(chromedp.CSS(`.tabs button[data-tab="` + name + `"]`))
	}

	do("loading the page",
		chromedp.Navigate(srv.URL()),
		chromedp.WaitVisible(chromedp.CSS(`body[data-ready="1"]`)))
	do("running the allocating sample",
		chromedp.Click(chromedp.CSS(`#run`)),
		chromedp.WaitVisible(chromedp.CSS(`body[data-runs="1"]`)))
	result, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#result`)))
	if err != nil {
		t.Fatal(err)
	}

	// Assembly tab: the sample's function with its instructions and calls.
	do("opening the Assembly tab", tab("asm"), chromedp.WaitVisible(chromedp.CSS(`#tab-asm .asm-fn`)))
	asmFuncs := count(`document.querySelectorAll('#tab-asm .asm-fn').length`)
	asmRun := count(`document.querySelectorAll('#tab-asm .asm-fn[data-fn="Run"]').length`)
	asmCalls := count(`document.querySelectorAll('#tab-asm .asm-fn[data-fn="Run"] .call').length`)

	// Escapes: the allocating line (21) is marked in the tab and in the editor.
	do("opening the Escapes tab", tab("escapes"), chromedp.WaitVisible(chromedp.CSS(`#tab-escapes .esc`)))
	heapMarks := count(`document.querySelectorAll('#tab-escapes .esc[data-kind="heap"][data-line="21"]').length`)
	heapLine := count(`[...document.querySelectorAll('.cm-content .cm-line')].findIndex(l => l.classList.contains('tune-heap')) + 1`)

	// GC: one vertical line per collection.
	do("opening the GC tab", tab("gc"), chromedp.WaitVisible(chromedp.CSS(`#chart svg`)), chromedp.Sleep(300*time.Millisecond))
	gcLines := count(`document.querySelectorAll('#gclines line.gcl').length`)
	liveEvents := count(`Number(document.body.dataset.liveEvents)`)
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}

	// Open an experiment file that does not compile: the editor, the input
	// and the mode follow the file, and the error is linked to its line.
	exp := filepath.Join(t.TempDir(), "broken.tune.json")
	broken := `{"code": "package main\n\nfunc Broken(s string) int {\n\treturn undefinedName\n}\n", "input": "opened", "mode": "release"}`
	if err := os.WriteFile(exp, []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	do("opening an experiment file",
		chromedp.Click(chromedp.CSS(`#mode button[data-mode="debug"]`)),
		chromedp.SetUploadFiles(chromedp.CSS(`#file`), []string{exp}),
		chromedp.WaitVisible(chromedp.CSS(`#mode button.on[data-mode="release"]`)))
	opened := count(`(document.querySelector('.cm-content').textContent.includes('func Broken') ? 1 : 0) + (document.getElementById('input').value === 'opened' ? 1 : 0)`)
	do("running the broken snippet",
		chromedp.Click(chromedp.CSS(`#run`)),
		chromedp.WaitVisible(chromedp.CSS(`body[data-runs="2"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#tab-output .errors li`)))
	errLinked := count(`[...document.querySelectorAll('#tab-output .errors li')].filter(li => li.textContent.includes('snippet.go:4') && li.textContent.includes('undefined: undefinedName')).length`)
	errLine := count(`[...document.querySelectorAll('.cm-content .cm-line')].findIndex(l => l.classList.contains('tune-error')) + 1`)
	if opened != 2 {
		t.Errorf("after opening the file, %d of code and input were loaded, want both", opened)
	}
	if errLinked != 1 || errLine != 4 {
		t.Errorf("compile error: %d linked entries for line 4, editor marks line %d; want 1 and line 4", errLinked, errLine)
	}

	pageErrMu.Lock()
	for _, e := range pageErrs {
		t.Errorf("page: %s", e)
	}
	pageErrMu.Unlock()
	if result != "15000000" {
		t.Errorf("returned value shown = %q, want 15000000", result)
	}
	if asmFuncs == 0 || asmRun != 1 || asmCalls == 0 {
		t.Errorf("Assembly tab: %d functions, %d named Run, %d calls in Run; want Run with its calls", asmFuncs, asmRun, asmCalls)
	}
	if heapMarks == 0 {
		t.Error("Escapes tab: no heap decision for line 21 (make([]int, 3000))")
	}
	if heapLine != 21 {
		t.Errorf("editor: first line marked as escaping is %d, want 21", heapLine)
	}
	if liveEvents == 0 {
		t.Error("no sample or cycle reached the page through the event stream while the snippet ran")
	}
	if gcLines < 1 {
		t.Errorf("GC chart drew %d GC lines, want at least 1", gcLines)
	}
	out := os.Getenv("TUNE_SCREENSHOT")
	if out == "" {
		out = filepath.Join(t.TempDir(), "tune.png")
	}
	if err := os.WriteFile(out, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s (%d bytes)", out, len(png))
}
