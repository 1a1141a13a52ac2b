package loadgen_test

import (
	"fmt"

	"github.com/zerogc/zerogc/lab/loadgen"
)

func ExampleValidateURL() {
	_, err := loadgen.ValidateURL("http://127.0.0.1:8080/api/values")
	fmt.Println(err)
	_, err = loadgen.ValidateURL("http://10.0.0.5:8080/api/values")
	fmt.Println(err)
	// Output:
	// <nil>
	// loadgen: refusing to load "10.0.0.5": only loopback targets (127.0.0.1, ::1, localhost) are allowed
}
