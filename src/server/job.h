/* A job: one request handed from a connection thread to the worker. Both hold a
 * reference; the connection waits on it (watching its client's socket), the
 * worker fills its text and result. */
#ifndef DOTS_SERVER_JOB_H
#define DOTS_SERVER_JOB_H
#include <pthread.h>
#include <stdatomic.h>
#include "doc/strutil.h"
#include "server/chat.h"

typedef enum { SRV_JOB_CHAT, SRV_JOB_PARSE } srv_job_kind;
typedef enum { SRV_JOB_QUEUED, SRV_JOB_RUNNING, SRV_JOB_DONE } srv_job_state;
enum { SRV_CANCEL_NONE = 0, SRV_CANCEL_CLIENT_GONE, SRV_CANCEL_SHUTDOWN };

typedef struct srv_parse_request {
    unsigned char *data;     /* the PDF or image */
    size_t size;
    char name[128];          /* for messages */
    char pages[256];         /* "" = all, else "1,3-5" (1-based) */
    char prompt[32];         /* a prompt mode name */
    int dpi;                 /* 0 = default */
    int max_tokens, max_tokens_given;
    int picture;             /* 1: include the layout picture (base64 PNG) */
} srv_parse_request;

typedef struct srv_job {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int refs;
    srv_job_kind kind;
    srv_job_state state;
    atomic_int cancel;          /* SRV_CANCEL_*: read by the engine callbacks */
    double deadline;            /* dots_now() time after which the job is stopped */
    srv_chat_request chat;      /* input of a chat job */
    srv_parse_request parse;    /* input of a parse job */
    /* output, under mu */
    dstr text;                  /* the answer so far (chat) or the result JSON (parse) */
    size_t safe;                /* text[0..safe) may be streamed (no stop string can start in it) */
    const char *finish;         /* "stop" / "length" once done */
    int prompt_tokens, completion_tokens;
    int timed_out;
    dots_status status;         /* DOTS_OK or why the job failed */
    dots_error err;
} srv_job;

srv_job *srv_job_new(srv_job_kind kind, double timeout_s);
void srv_job_ref(srv_job *j);
void srv_job_unref(srv_job *j);

/* Worker side: marks it running / done (wakes the waiters). */
void srv_job_start(srv_job *j);
void srv_job_done(srv_job *j);

/* Connection side: waits until the job is done or j->safe > have; watches the client
 * socket fd (-1: none) and cancels the job when the client has gone (returns -1). */
int srv_job_wait(srv_job *j, size_t have, int fd);
/* Copies text[from..safe) into out; returns the new offset. *done: the job has ended. */
size_t srv_job_read(srv_job *j, size_t from, dstr *out, int *done);

/* True when the peer of socket fd has closed its side. */
int srv_client_gone(int fd);

#endif
