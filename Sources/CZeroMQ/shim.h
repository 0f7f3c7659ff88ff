#ifndef CZEROMQ_SHIM_H
#define CZEROMQ_SHIM_H
// Debian's libzmq3-dev. Helpers live here only where Swift cannot reach C directly.
#include <zmq.h>
#include <errno.h>
#include <stdint.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>

/// DRAFT-guarded in the 4.3.4 header, but accepted by the library at runtime.
#ifndef ZMQ_ZAP_ENFORCE_DOMAIN
#define ZMQ_ZAP_ENFORCE_DOMAIN 93
#endif

/// errno is a macro over a thread-local: Swift cannot read it reliably without this.
static inline int czmq_errno(void) { return zmq_errno(); }

/// A non-blocking, close-on-exec eventfd used to wake a poll thread (Glibc's Swift overlay lacks eventfd).
/// Returns the fd, or -errno.
static inline int czmq_eventfd_create(void) {
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

/// Adds 1 to the eventfd counter (makes it readable). Safe from any thread.
static inline void czmq_eventfd_signal(int fd) {
    uint64_t one = 1;
    ssize_t r;
    do { r = write(fd, &one, sizeof one); } while (r < 0 && errno == EINTR);
}

/// Resets the eventfd counter to zero (non-blocking read).
static inline void czmq_eventfd_clear(int fd) {
    uint64_t value;
    ssize_t r;
    do { r = read(fd, &value, sizeof value); } while (r < 0 && errno == EINTR);
}

static inline void czmq_fd_close(int fd) { close(fd); }

/// Names the calling thread (first 15 bytes), as shown by `top -H`, `perf` and debuggers.
static inline void czmq_set_thread_name(const char *name) { prctl(PR_SET_NAME, name, 0, 0, 0); }

/// Sends one frame without blocking the caller; returns 0 or the errno (read in the same C frame).
static inline int czmq_send_frame(void *socket, const void *data, size_t size, int flags) {
    return zmq_send(socket, data, size, flags) < 0 ? zmq_errno() : 0;
}

/// Receives one frame into an initialised message; returns 0 or the errno. `*more` is set when
/// another frame of the same message follows.
static inline int czmq_recv_frame(void *socket, zmq_msg_t *msg, int flags, int *more) {
    if (zmq_msg_recv(msg, socket, flags) < 0) return zmq_errno();
    *more = zmq_msg_more(msg);
    return 0;
}

#endif
