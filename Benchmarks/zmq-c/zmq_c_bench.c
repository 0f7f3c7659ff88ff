// Plain libzmq baseline for ZeroMQBench: PUSH -> PULL over tcp loopback in one process, one sender
// thread and one receiver thread, blocking zmq_send / zmq_msg_recv (like libzmq's perf/local_thr +
// remote_thr). Timing runs from the first received message to the last, as local_thr does.
//
// usage: zmq_c_bench SIZE COUNT      prints: size=SIZE count=COUNT seconds=S msgs_per_sec=R
#include <zmq.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static size_t size;
static long count;
static char endpoint[256];
static void *ctx;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *sender(void *arg) {
    (void)arg;
    void *push = zmq_socket(ctx, ZMQ_PUSH);
    int linger = -1;  // deliver everything before close, like remote_thr
    zmq_setsockopt(push, ZMQ_LINGER, &linger, sizeof linger);
    if (zmq_connect(push, endpoint) != 0) { perror("connect"); exit(1); }
    char *payload = calloc(1, size ? size : 1);
    for (long i = 0; i < count; i++) {
        if (zmq_send(push, payload, size, 0) < 0) { fprintf(stderr, "send: %s\n", zmq_strerror(zmq_errno())); exit(1); }
    }
    free(payload);
    zmq_close(push);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: %s SIZE COUNT\n", argv[0]); return 2; }
    size = (size_t)atol(argv[1]);
    count = atol(argv[2]);
    ctx = zmq_ctx_new();
    void *pull = zmq_socket(ctx, ZMQ_PULL);
    int linger = 0;
    zmq_setsockopt(pull, ZMQ_LINGER, &linger, sizeof linger);
    if (zmq_bind(pull, "tcp://127.0.0.1:*") != 0) { perror("bind"); return 1; }
    size_t len = sizeof endpoint;
    zmq_getsockopt(pull, ZMQ_LAST_ENDPOINT, endpoint, &len);

    pthread_t thread;
    pthread_create(&thread, NULL, sender, NULL);

    zmq_msg_t msg;
    zmq_msg_init(&msg);
    double start = 0;
    for (long i = 0; i < count; i++) {
        if (zmq_msg_recv(&msg, pull, 0) < 0) { fprintf(stderr, "recv: %s\n", zmq_strerror(zmq_errno())); return 1; }
        if (zmq_msg_size(&msg) != size) { fprintf(stderr, "bad size\n"); return 1; }
        if (i == 0) start = now();
    }
    double elapsed = now() - start;
    zmq_msg_close(&msg);
    pthread_join(thread, NULL);
    zmq_close(pull);
    zmq_ctx_term(ctx);
    // count - 1 intervals measured after the first message arrived.
    printf("size=%zu count=%ld seconds=%.6f msgs_per_sec=%.0f\n", size, count, elapsed, (count - 1) / elapsed);
    return 0;
}
