#ifndef CZEROMQ_SHIM_H
#define CZEROMQ_SHIM_H
// Debian's libzmq3-dev. Helpers live here only where Swift cannot reach C directly.
#include <zmq.h>
#include <errno.h>

/// errno is a macro over a thread-local: Swift cannot read it reliably without this.
static inline int czmq_errno(void) { return zmq_errno(); }

#endif
