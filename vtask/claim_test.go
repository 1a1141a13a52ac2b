package vtask_test

import (
	"context"
	"testing"
	"time"

	"github.com/zerogc/zerogc/vtask"
)

// TestTryClaim_HoldsOffAbandon: while a completer holds the claim, an
// AwaitContext whose context ends waits for the publication instead of
// giving up, so memory lent to the operation is not handed back while the
// completer writes it.
func TestTryClaim_HoldsOffAbandon(t *testing.T) {
	c := vtask.Rent[int]()
	task := c.Task()
	ctx, cancel := context.WithCancel(context.Background())
	type res struct {
		v   int
		err error
	}
	got := make(chan res, 1)
	go func() {
		v, err := task.AwaitContext(ctx)
		got <- res{v, err}
	}()
	for !c.Waiting() {
		time.Sleep(time.Millisecond)
	}
	claimed, abandoned := c.TryClaim(task.Token())
	if !claimed || abandoned {
		t.Fatalf("TryClaim = %v, %v; want true, false", claimed, abandoned)
	}
	if again, _ := c.TryClaim(task.Token()); again {
		t.Fatal("a second TryClaim of the same version succeeded")
	}
	cancel()
	select {
	case r := <-got:
		t.Fatalf("AwaitContext returned %v, %v while the claim was held", r.v, r.err)
	case <-time.After(50 * time.Millisecond):
	}
	c.CompleteClaimed(7, nil)
	if r := <-got; r.v != 7 || r.err != nil {
		t.Fatalf("AwaitContext = %v, %v; want 7, nil", r.v, r.err)
	}
}

// TestTryClaim_ReportsAbandoned: a claim after the waiter gave up says so,
// and the completion then recycles the source by itself.
func TestTryClaim_ReportsAbandoned(t *testing.T) {
	c := vtask.Rent[int]()
	task := c.Task()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	done := make(chan error, 1)
	go func() {
		_, err := task.AwaitContext(ctx)
		done <- err
	}()
	if err := <-done; err != context.Canceled {
		t.Fatalf("AwaitContext = %v; want context.Canceled", err)
	}
	claimed, abandoned := c.TryClaim(task.Token())
	if !claimed || !abandoned {
		t.Fatalf("TryClaim = %v, %v; want true, true", claimed, abandoned)
	}
	c.CompleteClaimed(1, nil)
	if c.Version() == task.Token() {
		t.Fatal("the abandoned result was not consumed: the version did not move on")
	}
	if claimed, _ := c.TryClaim(task.Token()); claimed {
		t.Fatal("TryClaim of a stale version succeeded")
	}
}
