package serve

import "syscall"

// syscallEMFILE is the accept error when the agent runs out of file
// descriptors: a reason to back off, not to stop serving.
var syscallEMFILE = syscall.EMFILE
