// Plain libzmq baseline for ZeroMQBench: PUSH -> PULL over tcp loopback in one process, one sender
// thread and one receiver thread, blocking zmq_send / zmq_msg_recv (like libzmq's perf/local_thr +
// remote_thr). Timing runs from the first received message to the last, as local_thr does.
//
// usage: zmq_c_bench SIZE COUNT      prints: size=SIZE count=COUNT seconds=S msgs_per_sec=R
//
// zmq_c_bench SIZE COUNT router: the gateway's request/reply pattern instead. A ROUTER thread receives
// [id, empty, body] and replies [id, empty, ack] (blocking calls); a DEALER thread pipelines COUNT
// requests [empty, body] and reads the replies (zmq_poll, non-blocking send/receive). Timed from the
// first request to the last reply; msgs_per_sec counts request/reply pairs.
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

static const char ack[] = "{\"ok\":true}";

static void *router_server(void *arg) {
    void *router = arg;
    zmq_msg_t id, empty, body;
    zmq_msg_init(&id); zmq_msg_init(&empty); zmq_msg_init(&body);
    for (long i = 0; i < count; i++) {
        if (zmq_msg_recv(&id, router, 0) < 0 || zmq_msg_recv(&empty, router, 0) < 0 || zmq_msg_recv(&body, router, 0) < 0) {
            fprintf(stderr, "router recv: %s\n", zmq_strerror(zmq_errno())); exit(1);
        }
        if (zmq_msg_size(&body) != size) { fprintf(stderr, "bad size\n"); exit(1); }
        if (zmq_send(router, zmq_msg_data(&id), zmq_msg_size(&id), ZMQ_SNDMORE) < 0 || zmq_send(router, "", 0, ZMQ_SNDMORE) < 0
            || zmq_send(router, ack, sizeof ack - 1, 0) < 0) {
            fprintf(stderr, "router send: %s\n", zmq_strerror(zmq_errno())); exit(1);
        }
    }
    zmq_msg_close(&id); zmq_msg_close(&empty); zmq_msg_close(&body);
    return NULL;
}

static int run_router(void) {
    void *router = zmq_socket(ctx, ZMQ_ROUTER);
    int zero = 0, one = 1;
    zmq_setsockopt(router, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(router, ZMQ_ROUTER_MANDATORY, &one, sizeof one);
    if (zmq_bind(router, "tcp://127.0.0.1:*") != 0) { perror("bind"); return 1; }
    size_t len = sizeof endpoint;
    zmq_getsockopt(router, ZMQ_LAST_ENDPOINT, endpoint, &len);
    void *dealer = zmq_socket(ctx, ZMQ_DEALER);
    zmq_setsockopt(dealer, ZMQ_LINGER, &zero, sizeof zero);
    if (zmq_connect(dealer, endpoint) != 0) { perror("connect"); return 1; }
    // Handshake first, so that the ROUTER knows the peer before the timed run.
    if (zmq_send(dealer, "", 0, ZMQ_SNDMORE) < 0 || zmq_send(dealer, "", 0, 0) < 0) return 1;
    { zmq_msg_t m; zmq_msg_init(&m); int more = 1; while (more) { zmq_msg_recv(&m, router, 0); more = zmq_msg_more(&m); }
      zmq_msg_close(&m); }
    pthread_t thread;
    pthread_create(&thread, NULL, router_server, router);
    char *payload = calloc(1, size ? size : 1);
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    long sent = 0, received = 0;
    double start = now();
    while (received < count) {
        zmq_pollitem_t item = { dealer, 0, ZMQ_POLLIN | (sent < count ? ZMQ_POLLOUT : 0), 0 };
        if (zmq_poll(&item, 1, -1) < 0) { fprintf(stderr, "poll: %s\n", zmq_strerror(zmq_errno())); return 1; }
        while (sent < count && zmq_send(dealer, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT) == 0) {
            zmq_send(dealer, payload, size, 0);  // the rest of a message is accepted once its first frame is
            sent++;
        }
        while (zmq_msg_recv(&msg, dealer, ZMQ_DONTWAIT) >= 0) {
            if (!zmq_msg_more(&msg)) received++;
        }
    }
    double elapsed = now() - start;
    pthread_join(thread, NULL);
    zmq_msg_close(&msg);
    free(payload);
    zmq_close(dealer);
    zmq_close(router);
    zmq_ctx_term(ctx);
    printf("size=%zu count=%ld seconds=%.6f msgs_per_sec=%.0f\n", size, count, elapsed, count / elapsed);
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 3 && !(argc == 4 && strcmp(argv[3], "router") == 0)) {
        fprintf(stderr, "usage: %s SIZE COUNT [router]\n", argv[0]); return 2;
    }
    size = (size_t)atol(argv[1]);
    count = atol(argv[2]);
    ctx = zmq_ctx_new();
    if (argc == 4) return run_router();
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
