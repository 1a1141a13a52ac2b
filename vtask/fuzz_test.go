package vtask_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/zerogc/zerogc/vtask"
)

// model is the specification of one Core, kept as plainly as possible.
type model struct {
	version    uint64
	completed  bool
	value      int
	failed     bool
	registered bool
	fired      int // continuation runs, over all versions
}

// FuzzCore drives a Core with a random sequence of calls, each with a token
// that is current or stale, and compares every outcome with the model.
func FuzzCore(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6})
	f.Add([]byte{2, 2, 0, 0, 3, 3, 1, 1, 4})
	f.Add([]byte{5, 0, 16, 3, 2, 19, 1, 6, 3})
	f.Add([]byte{0x40, 0x41, 0x42, 0x44, 0x43, 0, 3}) // issue 11.1: tokens with bit 48 set
	f.Fuzz(func(t *testing.T, ops []byte) {
		var core vtask.Core[int]
		var m model
		fired := 0
		cont := func(any) { fired++ }
		for i, op := range ops {
			// The high bits pick the token: the current one, or a stale one.
			token := m.version
			if op&0x10 != 0 && m.version > 0 {
				token = m.version - 1
			}
			if op&0x20 != 0 {
				token = m.version + 1 // a future token is as wrong as a past one
			}
			if op&0x40 != 0 {
				token = m.version + 1<<48 // equal in the version's 48 bits only
			}
			stale := token != m.version
			task := vtask.NewTask[int](&core, token)
			where := fmt.Sprintf("op %d (%#x) of %v", i, op, ops)
			switch op % 7 {
			case 0: // complete with a value
				ok := core.TrySetResult(token, i)
				want := !stale && !m.completed
				if ok != want {
					t.Fatalf("%s: TrySetResult = %v, want %v", where, ok, want)
				}
				if ok {
					m.completed, m.value, m.failed = true, i, false
					if m.registered {
						m.fired++
					}
				}
			case 1: // complete with an error
				ok := core.TrySetError(token, errors.New("e"))
				want := !stale && !m.completed
				if ok != want {
					t.Fatalf("%s: TrySetError = %v, want %v", where, ok, want)
				}
				if ok {
					m.completed, m.failed = true, true
					if m.registered {
						m.fired++
					}
				}
			case 2: // register a continuation
				err := task.OnCompleted(cont, nil)
				switch {
				case stale:
					if !errors.Is(err, vtask.ErrStale) {
						t.Fatalf("%s: stale OnCompleted err = %v", where, err)
					}
				case m.registered:
					if !errors.Is(err, vtask.ErrAlreadyRegistered) {
						t.Fatalf("%s: second OnCompleted err = %v", where, err)
					}
				default:
					if err != nil {
						t.Fatalf("%s: OnCompleted err = %v", where, err)
					}
					m.registered = true
					if m.completed {
						m.fired++
					}
				}
			case 3: // consume
				v, err := task.Result()
				switch {
				case stale:
					if !errors.Is(err, vtask.ErrStale) {
						t.Fatalf("%s: stale Result err = %v", where, err)
					}
				case !m.completed:
					if !errors.Is(err, vtask.ErrNotCompleted) {
						t.Fatalf("%s: early Result err = %v", where, err)
					}
				default:
					if m.failed != (err != nil) || (!m.failed && v != m.value) {
						t.Fatalf("%s: Result = %v, %v; model %+v", where, v, err, m)
					}
					m = model{version: m.version + 1, fired: m.fired}
				}
			case 4: // poll
				st, err := task.Status()
				want := vtask.Pending
				if m.completed {
					want = vtask.Succeeded
					if m.failed {
						want = vtask.Failed
					}
				}
				if stale != errors.Is(err, vtask.ErrStale) || (!stale && st != want) {
					t.Fatalf("%s: Status = %v, %v; want %v (stale %v)", where, st, err, want, stale)
				}
			case 5: // the owner abandons the version
				core.Reset()
				m = model{version: m.version + 1, fired: m.fired}
			case 6: // nil continuation
				if err := task.OnCompleted(nil, nil); !errors.Is(err, vtask.ErrNilContinuation) {
					t.Fatalf("%s: nil continuation err = %v", where, err)
				}
			}
			if core.Version() != m.version {
				t.Fatalf("%s: version %d, model %d", where, core.Version(), m.version)
			}
			if fired != m.fired {
				t.Fatalf("%s: continuations ran %d times, model %d", where, fired, m.fired)
			}
		}
	})
}
