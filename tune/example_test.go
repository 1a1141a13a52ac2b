package tune_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"

	"github.com/zerogc/zerogc/tune"
)

// ExampleRunner_Run builds and runs a snippet, then reads what the compiler
// decided about it and what it allocated.
func ExampleRunner_Run() {
	r, err := tune.NewRunner(tune.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()

	code := `package main

import "strconv"

func Squares(input string) []int {
	n, _ := strconv.Atoi(input)
	out := make([]int, n)
	for i := range out {
		out[i] = i * i
	}
	return out
}
`
	res, err := r.Run(context.Background(), tune.Request{Code: code, Input: "4"}, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("called:", res.Entry, "returned:", res.Results)
	for _, d := range res.Escapes {
		if d.Kind == "heap" {
			fmt.Printf("line %d: %s\n", d.Line, d.Message)
		}
	}
	fmt.Println("allocated:", res.Alloc.Bytes, "bytes in", res.Alloc.Objects, "object")
	fmt.Println("every GC cycle recorded:", res.CyclesComplete)
	// Output:
	// called: Squares returned: [[0 1 4 9]]
	// line 7: make([]int, n) escapes to heap
	// allocated: 32 bytes in 1 object
	// every GC cycle recorded: true
}

// ExampleNewServer starts the web page on a free loopback port. The URL it
// prints carries, in its fragment, the token that every API request needs
// in its X-Tune-Token header.
func ExampleNewServer() {
	srv, err := tune.NewServer(tune.Config{Addr: "127.0.0.1:0"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("open", srv.URL())
	go func() {
		if err := srv.Serve(); !errors.Is(err, http.ErrServerClosed) {
			log.Print(err)
		}
	}()
	if err := srv.Shutdown(context.Background()); err != nil {
		log.Print(err)
	}
}

// ExampleCompareBench compares two benchmark runs, such as the "bench"
// objects of two results, with benchstat's statistics.
func ExampleCompareBench() {
	run := func(allocs float64, ns ...float64) *tune.BenchRun {
		b := tune.Benchmark{Name: "BenchmarkRun"}
		for _, v := range ns {
			b.Samples = append(b.Samples, tune.BenchSample{N: 1000, NsPerOp: v, BytesPerOp: 16 * allocs, AllocsPerOp: allocs})
		}
		return &tune.BenchRun{Count: len(ns), Benchtime: "1000x", Benchmarks: []tune.Benchmark{b}}
	}
	base := run(100, 5100, 5000, 5200, 4900, 5050, 5150)
	next := run(1, 900, 950, 1000, 920, 980, 940)
	rows, err := tune.CompareBench(base, next)
	if err != nil {
		log.Fatal(err)
	}
	for _, d := range rows {
		fmt.Printf("%s %s: %v -> %v %s (%s)\n", d.Benchmark, d.Unit, d.Base.Median, d.New.Median, d.Delta, d.Note)
	}
	// Output:
	// BenchmarkRun ns/op: 5075 -> 945 -81.38% (p=0.002 n=6)
	// BenchmarkRun B/op: 1600 -> 16 -99.00% (p=0.002 n=6)
	// BenchmarkRun allocs/op: 100 -> 1 -99.00% (p=0.002 n=6)
}
