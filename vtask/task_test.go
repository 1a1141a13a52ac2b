package vtask_test

import (
	"errors"
	"testing"

	"github.com/zerogc/zerogc/vtask"
)

// A Task keeps its error and its source in one field (see Task). These tests
// check that each kind of task is told apart: an immediate task with or
// without an error, a Core's task, a source embedding a Core, and a source
// that is also an error.

func TestTaskImmediateErrorKeepsItsValueAndError(t *testing.T) {
	boom := errors.New("boom")
	task := vtask.RunWith(vtask.Inline, func(x int) (int, error) { return x, boom }, 7)
	if !task.IsImmediate() || !task.IsCompleted() || task.Token() != 0 {
		t.Fatalf("IsImmediate %v, IsCompleted %v, Token %d: want true, true, 0",
			task.IsImmediate(), task.IsCompleted(), task.Token())
	}
	for range 2 { // an immediate task may be read any number of times
		if v, err := task.Result(); v != 7 || err != boom {
			t.Fatalf("Result = %d, %v; want 7, boom", v, err)
		}
		if v, err := task.Await(); v != 7 || err != boom {
			t.Fatalf("Await = %d, %v; want 7, boom", v, err)
		}
	}
	if st, err := task.Status(); st != vtask.Failed || err != nil {
		t.Fatalf("Status = %v, %v; want Failed", st, err)
	}
	ran := false
	if err := task.OnCompleted(func(any) { ran = true }, nil); err != nil || !ran {
		t.Fatalf("OnCompleted = %v, ran %v; want nil, true", err, ran)
	}
	if _, err := vtask.FromError[int](nil).Await(); err != nil {
		t.Fatalf("FromError(nil).Await() error = %v, want nil", err)
	}
}

// errSource is a Source that is also an error: its task must not be taken
// for an immediate task that failed with it.
type errSource struct{ vtask.Core[int] }

func (*errSource) Error() string { return "errSource is an error too" }

func TestTaskOfASourceThatIsAlsoAnError(t *testing.T) {
	s := new(errSource)
	task := vtask.NewTask[int](s, s.Version())
	if task.IsImmediate() || task.IsCompleted() {
		t.Fatalf("IsImmediate %v, IsCompleted %v: want false, false", task.IsImmediate(), task.IsCompleted())
	}
	if _, err := task.Result(); !errors.Is(err, vtask.ErrNotCompleted) {
		t.Fatalf("Result before completion: %v, want ErrNotCompleted", err)
	}
	s.SetResult(5)
	if st, err := task.Status(); st != vtask.Succeeded || err != nil {
		t.Fatalf("Status = %v, %v; want Succeeded", st, err)
	}
	if v, err := task.Await(); v != 5 || err != nil {
		t.Fatalf("Await = %d, %v; want 5, nil", v, err)
	}
	if _, err := task.Await(); !errors.Is(err, vtask.ErrStale) {
		t.Fatalf("second Await: %v, want ErrStale", err)
	}
}

// embedded is a Source that embeds a Core: Await waits through the Core.
type embedded struct{ vtask.Core[int] }

func TestTaskOfASourceEmbeddingACore(t *testing.T) {
	s := new(embedded)
	task := vtask.NewTask[int](s, s.Version())
	go s.SetResult(9)
	if v, err := task.Await(); v != 9 || err != nil {
		t.Fatalf("Await = %d, %v; want 9, nil", v, err)
	}
	if _, err := task.Result(); !errors.Is(err, vtask.ErrStale) {
		t.Fatalf("Result after Await: %v, want ErrStale", err)
	}
}
