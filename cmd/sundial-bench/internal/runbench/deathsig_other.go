//go:build !linux

package runbench

import "os/exec"

// dieWithBench does nothing where there is no parent-death signal: the
// child is stopped by the stop function StartRedis returns.
func dieWithBench(*exec.Cmd) {}
