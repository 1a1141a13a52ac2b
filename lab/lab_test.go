package lab

import (
	"context"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/zerogc/zerogc/lab/server"
)

func TestRunSmoke(t *testing.T) {
	for _, f := range []server.Flavor{server.NetHTTP, server.Zero} {
		t.Run(string(f), func(t *testing.T) {
			r, err := Run(context.Background(), Config{Flavor: f, GC: server.GCMode{Off: true}, Users: 4, Requests: 500, Warmup: 100, SampleEvery: 5 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			if r.OK != 500 || r.ErrorCount != 0 || r.Name != string(f)+" gc=off" {
				t.Fatalf("%s: %d ok, %d errors (%v)", r.Name, r.OK, r.ErrorCount, r.Errors)
			}
			if r.BytesPerRequest == nil || r.GCCycles == nil || r.HeapGrowthBytes == nil || *r.GCCycles != 0 {
				t.Fatalf("heap figures missing or GC ran with GOGC=off: %+v", r)
			}
			if len(r.Samples) < 2 || r.PeakRSSBytes == 0 || r.Samples[len(r.Samples)-1].Requests != 500 {
				t.Fatalf("samples: %d, peak RSS %d", len(r.Samples), r.PeakRSSBytes)
			}
			if r.Latency.P50 <= 0 || r.Latency.Max < r.Latency.P99 || r.Latency.P99 < r.Latency.P50 {
				t.Fatalf("latency percentiles out of order: %+v", r.Latency)
			}
		})
	}
}

func TestOwnServerByURL(t *testing.T) {
	child, err := server.Start(server.Options{Flavor: server.Zero})
	if err != nil {
		t.Fatal(err)
	}
	defer child.Stop()
	r, err := Run(context.Background(), Config{URL: child.URL, PID: child.PID, Users: 2, Requests: 200})
	if err != nil {
		t.Fatal(err)
	}
	if r.OK != 200 || r.PeakRSSBytes == 0 {
		t.Fatalf("%d ok, peak RSS %d", r.OK, r.PeakRSSBytes)
	}
	if r.BytesPerRequest != nil || r.GCCycles != nil || r.HeapGrowthBytes != nil {
		t.Fatal("heap figures reported for a server whose metrics the lab cannot read")
	}
}

func TestBadInput(t *testing.T) {
	closed := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		return ln.Addr().String()
	}()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	me := os.Getpid()
	for name, tc := range map[string]struct {
		cfg  Config
		want string
	}{
		"non-loopback":  {Config{URL: "http://192.0.2.1:80/", PID: me, Requests: 1}, "loopback"},
		"unreachable":   {Config{URL: "http://" + closed + "/", PID: me, Requests: 1}, "cannot connect"},
		"no such pid":   {Config{URL: "http://" + closed + "/", PID: 1 << 30, Requests: 1}, "no process"},
		"url no pid":    {Config{URL: "http://" + closed + "/", Requests: 1}, "process id"},
		"nothing":       {Config{Requests: 1}, "nothing to load"},
		"both":          {Config{Flavor: server.Zero, URL: "http://127.0.0.1:1/", Requests: 1}, "not both"},
		"zero requests": {Config{Flavor: server.Zero}, "requests"},
		"bad flavor":    {Config{Flavor: "slow", Requests: 1}, "unknown flavor"},
		"port in use":   {Config{Flavor: server.Zero, Port: busy.Addr().(*net.TCPAddr).Port, Requests: 1}, "in use"},
	} {
		t.Run(name, func(t *testing.T) {
			done := make(chan error, 1)
			go func() { _, err := Run(context.Background(), tc.cfg); done <- err }()
			select {
			case err := <-done:
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("err = %v, want one mentioning %q", err, tc.want)
				}
			case <-time.After(20 * time.Second):
				t.Fatal("Run hung on bad input")
			}
		})
	}
	if _, err := Profile(context.Background(), Config{URL: "http://127.0.0.1:1/", PID: me}); err == nil {
		t.Fatal("Profile of a user's server accepted")
	}
}

// A server that dies in the middle of a run ends the run with an error
// instead of a hang.
func TestServerDiesMidRun(t *testing.T) {
	child, err := server.Start(server.Options{Flavor: server.NetHTTP})
	if err != nil {
		t.Fatal(err)
	}
	defer child.Stop()
	done := make(chan error, 1)
	go func() {
		_, err := Run(context.Background(), Config{URL: child.URL, PID: child.PID, Users: 2, Requests: 1_000_000, Delay: time.Millisecond, Timeout: time.Second})
		done <- err
	}()
	time.Sleep(200 * time.Millisecond)
	_ = child.Stop()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("Run against a server that exited reported success")
		}
		t.Log(err)
	case <-time.After(30 * time.Second):
		t.Fatal("Run hung after the server exited")
	}
}

// The GC modes reach the child: with the collector on, or off under a
// memory limit, allocating ~11 MB makes it collect; off, it never does.
func TestGCModes(t *testing.T) {
	for _, tc := range []struct {
		gc      string
		collect bool
	}{{"on", true}, {"limit=6MiB", true}, {"off", false}} {
		mode, err := server.ParseGC(tc.gc)
		if err != nil {
			t.Fatal(err)
		}
		r, err := Run(context.Background(), Config{Flavor: server.NetHTTP, GC: mode, Users: 4, Requests: 5000, Warmup: 100})
		if err != nil {
			t.Fatal(err)
		}
		if got := *r.GCCycles > 0; got != tc.collect {
			t.Errorf("gc=%s: %d GC cycles while allocating %d B", tc.gc, *r.GCCycles, *r.AllocatedBytes)
		}
		if r.GC != tc.gc {
			t.Errorf("report says gc=%s, want %s", r.GC, tc.gc)
		}
	}
}

// Point 15 of issue 11: the samples count the measured requests only (the
// first one 0, not the warm-up's), and a short run is sampled often enough
// for a chart: at least 50 points.
func TestIssue11_15_SamplesCountMeasuredRequests(t *testing.T) {
	for _, delay := range []time.Duration{0, time.Millisecond} {
		r, err := Run(context.Background(), Config{Flavor: server.Zero, GC: server.GCMode{Off: true}, Users: 4, Requests: 600, Warmup: 200, Delay: delay})
		if err != nil {
			t.Fatal(err)
		}
		s := r.Samples
		if len(s) < 50 {
			t.Errorf("delay %v: %d samples over a %.0f ms run, want at least 50", delay, len(s), r.DurationSeconds*1000)
		} else {
			t.Logf("delay %v: %d samples over a %.0f ms run", delay, len(s), r.DurationSeconds*1000)
		}
		if len(s) == 0 || s[0].Requests != 0 || s[len(s)-1].Requests != 600 {
			t.Fatalf("delay %v: samples count %v requests first and %v last, want 0 and 600", delay, s[0].Requests, s[len(s)-1].Requests)
		}
		for i := 1; i < len(s); i++ {
			if s[i].Requests < s[i-1].Requests || s[i].Requests > 600 {
				t.Fatalf("delay %v: sample %d counts %d requests after %d", delay, i, s[i].Requests, s[i-1].Requests)
			}
		}
	}
}
