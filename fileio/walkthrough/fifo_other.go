//go:build !unix

package walkthrough

import "errors"

func mkfifo(path string) error { return errors.New("named pipes need a Unix system") }
