package fileio_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/zerogc/zerogc/fileio"
)

func exampleFile() (string, func()) {
	dir, _ := os.MkdirTemp("", "fileio-example")
	p := filepath.Join(dir, "greeting.txt")
	_ = os.WriteFile(p, []byte("hello, zerogc\n"), 0o644)
	return p, func() { os.RemoveAll(dir) }
}

func ExampleNew() {
	r, err := fileio.New() // io_uring when the kernel offers it, else workers
	if err != nil {
		fmt.Println(err)
		return
	}
	defer r.Close()
	fmt.Println(r.Backend() == fileio.Uring || r.Backend() == fileio.Workers)
	// Output: true
}

func ExampleReader_ReadFile() {
	path, cleanup := exampleFile()
	defer cleanup()
	r, err := fileio.New()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer r.Close()

	data, err := r.ReadFile(context.Background(), path).Await()
	fmt.Printf("%q %v\n", data, err)

	_, err = r.ReadFile(context.Background(), path+".missing").Await()
	fmt.Println(errors.Is(err, fs.ErrNotExist))
	// Output:
	// "hello, zerogc\n" <nil>
	// true
}

func ExampleReader_ReadInto() {
	path, cleanup := exampleFile()
	defer cleanup()
	r, err := fileio.New(fileio.WithBackend(fileio.Workers))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer r.Close()

	buf := make([]byte, 64) // reused across reads: no allocation per read
	n, err := r.ReadInto(context.Background(), path, buf).Await()
	fmt.Printf("%d %q %v\n", n, buf[:n], err)

	// A buffer smaller than the file gets the first bytes and an error
	// saying the file did not fit.
	small := make([]byte, 5)
	_, err = r.ReadInto(context.Background(), path, small).Await()
	fmt.Printf("%q %v\n", small, errors.Is(err, fileio.ErrTruncated))
	// Output:
	// 14 "hello, zerogc\n" <nil>
	// "hello" true
}

func ExampleWithCache() {
	path, cleanup := exampleFile()
	defer cleanup()
	r, err := fileio.New(fileio.WithCache(1 << 20))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer r.Close()
	ctx := context.Background()

	first := r.ReadFile(ctx, path) // goes to the backend, fills the cache
	_, _ = first.Await()
	second := r.ReadFile(ctx, path) // answered synchronously
	data, _ := second.Await()
	fmt.Println(first.IsImmediate(), second.IsImmediate(), len(data))
	// Output: false true 14
}

func ExampleSetTrace() {
	path, cleanup := exampleFile()
	defer cleanup()
	r, err := fileio.New(fileio.WithBackend(fileio.Workers))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer r.Close()

	fileio.SetTrace(func(e fileio.Event) {
		switch e.Kind {
		case fileio.EvRentNew, fileio.EvRentHit, fileio.EvComplete, fileio.EvRelease:
			fmt.Println(e.Kind, "op", e.Slot)
		}
	})
	defer fileio.SetTrace(nil)
	for range 2 {
		_, _ = r.ReadFile(context.Background(), path).Await()
	}
	// Output:
	// rent-new op 0
	// complete op 0
	// release op 0
	// rent-hit op 0
	// complete op 0
	// release op 0
}
