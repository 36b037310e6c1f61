// Command exitcode exits with the code given as its argument; the smallest
// program that proves an image built by dockertest runs.
package main

import (
	"os"
	"strconv"
)

func main() {
	code := 0
	if len(os.Args) > 1 {
		code, _ = strconv.Atoi(os.Args[1])
	}
	os.Exit(code)
}
