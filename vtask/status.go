package vtask

import (
	"context"
	"errors"
	"strconv"
)

// Status is the state of an operation.
type Status uint8

const (
	// Pending means the operation has not completed.
	Pending Status = iota
	// Succeeded means the operation completed with a result and no error.
	Succeeded
	// Failed means the operation completed with an error other than a
	// cancellation.
	Failed
	// Canceled means the operation completed with an error that is
	// context.Canceled or context.DeadlineExceeded (by errors.Is).
	Canceled
)

// String returns the status's name.
func (s Status) String() string {
	switch s {
	case Pending:
		return "Pending"
	case Succeeded:
		return "Succeeded"
	case Failed:
		return "Failed"
	case Canceled:
		return "Canceled"
	}
	return "Status(" + strconv.Itoa(int(s)) + ")"
}

// statusOf classifies a completed operation by its error.
func statusOf(err error) Status {
	switch {
	case err == nil:
		return Succeeded
	//zerogc:allow errors.Is calls the Is and Unwrap methods of the caller's error
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return Canceled
	default:
		return Failed
	}
}
