//go:build !linux

package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "wakelag: Linux only (ppoll(2) and PR_SET_TIMERSLACK)")
	os.Exit(1)
}
