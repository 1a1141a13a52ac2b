package server

import "fmt"

func errorf(format string, args ...any) error {
	return fmt.Errorf("lab server: "+format, args...)
}
