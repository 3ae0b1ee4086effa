package runbench

import (
	"os/exec"
	"syscall"
)

// dieWithBench makes the child process cmd die with the bench, even one
// killed or interrupted (Linux only: the parent-death signal).
func dieWithBench(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
