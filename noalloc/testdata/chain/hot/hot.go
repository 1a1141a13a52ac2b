// Package hot holds a marked function that calls into package helper.
package hot

import (
	"errors"
	"fmt"

	"chain/helper"
)

var errNegative = errors.New("negative")

// Hot must not allocate.
//
//zerogc:noalloc
func Hot(x int) (int, error) {
	if x < 0 {
		return 0, fmt.Errorf("hot: %d: %w", x, errNegative) //zerogc:allow cold error path
	}
	x = helper.Step(x) // the scratch test adds an allocation after this line
	return x, nil
}
